package plan

import (
	"fmt"
	"io"
)

// Diff writes what plan p adds to base ("+ " lines) and takes from it
// ("- " lines), section by section: clone flags, host steps, child steps,
// the command's environment, warnings. Steps are compared as crun plan
// describes them, without their numbers, so that one step more does not
// make every later one differ. It returns whether anything differs.
// Plans of the same container id compare best: names made from it (a
// cgroup's) are then the same on both sides.
func Diff(w io.Writer, base, p *Plan) bool {
	changed := false
	for _, sec := range []struct {
		name     string
		old, new []string
	}{
		{"clone flags", base.CloneFlags, p.CloneFlags},
		{"host steps", hostLines(base), hostLines(p)},
		{"child steps", stepLines(base), stepLines(p)},
		{"exec", execLines(base), execLines(p)},
		{"env", base.Env, p.Env},
		{"warnings", warningLines(base), warningLines(p)},
	} {
		lines := diffLines(sec.old, sec.new)
		if len(lines) == 0 {
			continue
		}
		changed = true
		fmt.Fprintf(w, "%s:\n", sec.name)
		for _, l := range lines {
			fmt.Fprintf(w, "%s\n", l)
		}
	}
	return changed
}

func hostLines(p *Plan) []string {
	lines := make([]string, len(p.HostSteps))
	for i, h := range p.HostSteps {
		lines[i] = fmt.Sprintf("[%s] %s: %s", h.Point, h.Plugin, DescribeHostStep(h.HostStep))
	}
	return lines
}

func stepLines(p *Plan) []string {
	lines := make([]string, len(p.Steps))
	for i, s := range p.Steps {
		lines[i] = fmt.Sprintf("[%s] %s: %s", s.Phase, s.Plugin, DescribeStep(s.Step))
	}
	return lines
}

func execLines(p *Plan) []string {
	how := "exec"
	if p.ReapingInit {
		how = "spawn (crun's init stays PID 1)"
	}
	return []string{how + " " + quoteArgs(p.Command)}
}

func warningLines(p *Plan) []string {
	lines := make([]string, len(p.Warnings))
	for i, w := range p.Warnings {
		lines[i] = w.Plugin + ": " + w.Message
	}
	return lines
}

// diffLines returns the lines only old has ("- ") and only new has
// ("+ "), in order, from a longest common subsequence of the two.
func diffLines(old, new []string) []string {
	// lcs[i][j]: the longest common subsequence of old[i:] and new[j:].
	lcs := make([][]int, len(old)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(new)+1)
	}
	for i := len(old) - 1; i >= 0; i-- {
		for j := len(new) - 1; j >= 0; j-- {
			if old[i] == new[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out []string
	i, j := 0, 0
	for i < len(old) || j < len(new) {
		switch {
		case i < len(old) && j < len(new) && old[i] == new[j]:
			i, j = i+1, j+1
		case j < len(new) && (i == len(old) || lcs[i][j+1] >= lcs[i+1][j]):
			out = append(out, "+ "+new[j])
			j++
		default:
			out = append(out, "- "+old[i])
			i++
		}
	}
	return out
}
