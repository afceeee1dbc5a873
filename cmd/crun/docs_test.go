package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Documentation that shows commands must be right: these tests run the
// ```console blocks of the docs as written. In a block, a line starting
// with "$ " is a command (run with sh from the repository's top directory,
// with the crun under test first on PATH); the lines after it are its
// expected output, in which a line "..." stands for any number of lines,
// and "..." within a line for any text (timings, ids).

// docCommand is one command of a console block and what it must print.
type docCommand struct {
	line     int
	command  string
	expected []string
}

// consoleBlocks reads the commands of every ```console block in a file.
func consoleBlocks(t *testing.T, path string) []docCommand {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cmds []docCommand
	in := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "```console"):
			in = true
		case in && strings.HasPrefix(line, "```"):
			in = false
		case in && strings.HasPrefix(line, "$ "):
			cmds = append(cmds, docCommand{line: n, command: strings.TrimPrefix(line, "$ ")})
		case in && len(cmds) > 0:
			cmds[len(cmds)-1].expected = append(cmds[len(cmds)-1].expected, line)
		}
	}
	return cmds
}

// matchOutput checks output against expected lines with "..." gaps.
func matchOutput(expected, actual []string) bool {
	if len(expected) == 0 {
		return true
	}
	var segments [][]string
	cur := []string{}
	for _, e := range expected {
		if e == "..." {
			segments = append(segments, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, e)
	}
	segments = append(segments, cur)
	pos := 0
	for i, seg := range segments {
		if len(seg) == 0 {
			continue
		}
		first, last := i == 0, i == len(segments)-1
		found := -1
		for start := pos; start+len(seg) <= len(actual); start++ {
			if first && start != 0 {
				break
			}
			ok := true
			for k, s := range seg {
				if !lineMatches(s, actual[start+k]) {
					ok = false
					break
				}
			}
			if ok && (!last || start+len(seg) == len(actual)) {
				found = start
				break
			}
		}
		if found < 0 {
			return false
		}
		pos = found + len(seg)
	}
	return true
}

// lineMatches compares a line, "..." within the expected one matching any
// text.
func lineMatches(expected, actual string) bool {
	parts := strings.Split(expected, "...")
	if len(parts) == 1 {
		return expected == actual
	}
	if !strings.HasPrefix(actual, parts[0]) {
		return false
	}
	rest := actual[len(parts[0]):]
	for i, p := range parts[1:] {
		if i == len(parts)-2 {
			return strings.HasSuffix(rest, p)
		}
		j := strings.Index(rest, p)
		if j < 0 {
			return false
		}
		rest = rest[j+len(p):]
	}
	return true
}

// runDoc runs a document's console blocks in order.
func runDoc(t *testing.T, doc string) {
	t.Helper()
	requireRoot(t)
	repo, _ := filepath.Abs("../..")
	cmds := consoleBlocks(t, filepath.Join(repo, doc))
	if len(cmds) == 0 {
		t.Fatalf("%s has no console blocks", doc)
	}
	for _, c := range cmds {
		cmd := exec.Command("sh", "-c", c.command)
		cmd.Dir = repo
		cmd.Env = append(os.Environ(), "PATH="+testDir+":"+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s:%d: %s: %v\n%s", doc, c.line, c.command, err, out)
		}
		actual := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
		if len(out) == 0 {
			actual = nil
		}
		if !matchOutput(c.expected, actual) {
			t.Errorf("%s:%d: %s\nprinted:\n%s\nthe document says:\n%s", doc, c.line, c.command, out, strings.Join(c.expected, "\n"))
		}
	}
}

func TestMatchOutput(t *testing.T) {
	for _, tt := range []struct {
		expected, actual []string
		want             bool
	}{
		{[]string{"a"}, []string{"a"}, true},
		{[]string{"a"}, []string{"a", "b"}, false},
		{[]string{"a", "..."}, []string{"a", "b"}, true},
		{[]string{"...", "b"}, []string{"a", "b"}, true},
		{[]string{"...", "b", "..."}, []string{"a", "b", "c"}, true},
		{[]string{"...", "b", "c", "..."}, []string{"a", "b", "x", "c"}, false},
		{[]string{"...", "c", "...", "b"}, []string{"b", "c", "d"}, false},
		{[]string{"step 1 (...)"}, []string{"step 1 (12µs)"}, true},
		{[]string{"a...c...e"}, []string{"abcde"}, true},
		{[]string{"a...c...e"}, []string{"abcdf"}, false},
	} {
		if got := matchOutput(tt.expected, tt.actual); got != tt.want {
			t.Errorf("matchOutput(%q, %q) = %v", tt.expected, tt.actual, got)
		}
	}
}

func TestPluginsGuideWalkthrough(t *testing.T) {
	runDoc(t, "docs/plugins.md")
}

// TestTutorial replays the talk from docs/tutorial.md, every command and
// every observation it claims.
func TestTutorial(t *testing.T) {
	runDoc(t, "docs/tutorial.md")
}
