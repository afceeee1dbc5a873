// Command probe runs inside a container in crun's tests and reports, as
// JSON on stdout, what the container sees. Built static, it needs nothing
// from the root file system.
//
//	probe              report
//	probe escape PATH  try the classic chroot escape (chroot into a
//	                   subdirectory, chdir .. many times, chroot .) and
//	                   report whether PATH, a file on the host, is then
//	                   visible
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"syscall"
)

type report struct {
	Root     []string `json:"root"`
	Procs    []int    `json:"procs"`
	Mounts   []string `json:"mounts"`
	Hostname string   `json:"hostname"`
	Pid      int      `json:"pid"`
	Env      []string `json:"env"`
	Cwd      string   `json:"cwd"`
	Dev      []string `json:"dev"`
}

func main() {
	if len(os.Args) == 3 && os.Args[1] == "escape" {
		escape(os.Args[2])
		return
	}
	var r report
	r.Root = names("/")
	for _, n := range names("/proc") {
		if pid, err := strconv.Atoi(n); err == nil {
			r.Procs = append(r.Procs, pid)
		}
	}
	sort.Ints(r.Procs)
	if b, err := os.ReadFile("/proc/self/mountinfo"); err == nil {
		for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if f := strings.Fields(line); len(f) > 4 {
				r.Mounts = append(r.Mounts, f[4])
			}
		}
	}
	r.Hostname, _ = os.Hostname()
	r.Pid = os.Getpid()
	r.Env = os.Environ()
	r.Cwd, _ = os.Getwd()
	r.Dev = names("/dev")
	json.NewEncoder(os.Stdout).Encode(r)
}

func names(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// escape is the classic: a chroot does not change the working directory's
// ability to climb, so chroot into a subdirectory leaves the process
// outside its root, from where ".." reaches the real root.
func escape(hostFile string) {
	step := func(what string, err error) {
		if err != nil {
			fmt.Printf("escape-failed: %s: %v\n", what, err)
			os.Exit(0)
		}
	}
	_ = os.Mkdir("/escape-dir", 0o755)
	step("chroot /escape-dir", syscall.Chroot("/escape-dir"))
	for i := 0; i < 64; i++ {
		step("chdir ..", syscall.Chdir(".."))
	}
	step("chroot .", syscall.Chroot("."))
	if _, err := os.Stat(hostFile); err == nil {
		fmt.Println("escaped")
	} else {
		fmt.Println("contained")
	}
}
