package seccomp

import "sort"

// sysnum is one system call of an architecture's table (zsyscalls.go).
type sysnum struct {
	name string
	nr   uint32
}

// lookup returns the number of the system call name in table, which is
// sorted by name.
func lookup(table []sysnum, name string) (uint32, bool) {
	i := sort.Search(len(table), func(i int) bool { return table[i].name >= name })
	if i < len(table) && table[i].name == name {
		return table[i].nr, true
	}
	return 0, false
}
