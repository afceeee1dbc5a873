package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
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

// runDoc runs a document's console blocks in order, in ONE shell session,
// as a reader at one terminal would: a cd or a variable carries over to
// the next command (a build that leaves the reader in another directory
// breaks what follows, as it would for them). Commands read no input
// (the shell's stdin is /dev/null) and each gets a minute.
func runDoc(t *testing.T, doc string) {
	t.Helper()
	requireRoot(t)
	repo, _ := filepath.Abs("../..")
	cmds := consoleBlocks(t, filepath.Join(repo, doc))
	if len(cmds) == 0 {
		t.Fatalf("%s has no console blocks", doc)
	}
	sh := newSession(t, repo)
	for _, c := range cmds {
		out, code := sh.run(t, c.command)
		if code != 0 {
			t.Fatalf("%s:%d: %s: exit %d\n%s", doc, c.line, c.command, code, out)
		}
		actual := strings.Split(strings.TrimRight(out, "\n"), "\n")
		if out == "" {
			actual = nil
		}
		if !matchOutput(c.expected, actual) {
			t.Errorf("%s:%d: %s\nprinted:\n%s\nthe document says:\n%s", doc, c.line, c.command, out, strings.Join(c.expected, "\n"))
		}
	}
}

// session is one bash process that runs commands one by one: each line
// comes on fd 3 and is eval'd, and a marker with its status ends its
// output (stdout and stderr, interleaved as written).
type session struct {
	cmd      *exec.Cmd
	commands *os.File
	output   *bufio.Reader
	marker   string
}

func newSession(t *testing.T, dir string) *session {
	t.Helper()
	commandsR, commandsW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	s := &session{commands: commandsW, output: bufio.NewReader(outR), marker: fmt.Sprintf("--- end of command %d ---", time.Now().UnixNano())}
	s.cmd = exec.Command("bash", "-c", `while IFS= read -r -u 3 line; do eval "$line"; rc=$?; printf '\n%s %d\n' "$MARKER" "$rc"; done`)
	s.cmd.Dir = dir
	s.cmd.Env = append(os.Environ(), "PATH="+testDir+":"+os.Getenv("PATH"), "MARKER="+s.marker)
	s.cmd.Stdout, s.cmd.Stderr = outW, outW
	s.cmd.ExtraFiles = []*os.File{commandsR}
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	commandsR.Close()
	outW.Close()
	t.Cleanup(func() {
		commandsW.Close()
		done := make(chan struct{})
		go func() { s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			s.cmd.Process.Kill()
		}
		outR.Close()
	})
	return s
}

// run runs one command line and returns what it printed and its status.
func (s *session) run(t *testing.T, command string) (string, int) {
	t.Helper()
	if _, err := fmt.Fprintln(s.commands, command); err != nil {
		t.Fatalf("the shell session is gone: %v", err)
	}
	type answer struct {
		out  string
		code int
		err  error
	}
	got := make(chan answer, 1)
	go func() {
		var out strings.Builder
		for {
			line, err := s.output.ReadString('\n')
			if rest, ok := strings.CutPrefix(line, s.marker+" "); ok {
				code, _ := strconv.Atoi(strings.TrimSpace(rest))
				// The newline printed before the marker is not the command's.
				got <- answer{strings.TrimSuffix(out.String(), "\n"), code, nil}
				return
			}
			out.WriteString(line)
			if err != nil {
				got <- answer{out.String(), -1, err}
				return
			}
		}
	}()
	select {
	case a := <-got:
		if a.err != nil {
			t.Fatalf("%s: the shell session ended (%v):\n%s", command, a.err, a.out)
		}
		return a.out, a.code
	case <-time.After(time.Minute):
		s.cmd.Process.Kill()
		t.Fatalf("%s: still running after a minute", command)
	}
	return "", -1
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
