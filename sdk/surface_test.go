package sdk_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// exported lists the exported top-level names of the package in dir
// (test files aside), and which of them are variables.
func exported(t *testing.T, dir string) (names, vars []string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		if strings.HasSuffix(file, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		for _, decl := range f.Decls {
			switch d := decl.(type) {
			case *ast.FuncDecl:
				if d.Recv == nil && d.Name.IsExported() {
					names = append(names, d.Name.Name)
				}
			case *ast.GenDecl:
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						if s.Name.IsExported() {
							names = append(names, s.Name.Name)
						}
					case *ast.ValueSpec:
						for _, n := range s.Names {
							if n.IsExported() {
								names = append(names, n.Name)
								if d.Tok == token.VAR {
									vars = append(vars, n.Name)
								}
							}
						}
					}
				}
			}
		}
	}
	slices.Sort(names)
	return names, vars
}

// TestSurface keeps package sdk to what a plugin is written with: crun's
// end of the protocol is sdk/host, its implementation sdk/internal/wire.
func TestSurface(t *testing.T) {
	names, _ := exported(t, ".")
	if want := []string{"Hooker", "Logger", "Plugin", "Serve"}; !slices.Equal(names, want) {
		t.Errorf("package sdk exports %v, want only %v: what crun alone uses belongs in sdk/host", names, want)
	}
}

// TestNoSharedListsInSpec: an exported variable of sdk/spec could be
// changed by any plugin or by crun under everyone else; lists are
// functions returning a fresh copy.
func TestNoSharedListsInSpec(t *testing.T) {
	_, vars := exported(t, "spec")
	if len(vars) > 0 {
		t.Errorf("sdk/spec exports the variables %v: make them functions returning a copy, or unexported", vars)
	}
}
