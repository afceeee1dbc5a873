// Package oci reads an OCI bundle (runtime-spec: a directory holding
// config.json and the container's root file system) and compiles its
// config.json into a crun request: each field it supports becomes a
// plugin and that plugin's options, as a user would have given them on
// crun's command line. A field crun does not implement is refused with an
// error that names it; none is ignored (rules.go holds the mapping, one
// rule per field).
//
// The types are runtime-spec's own Go package
// (github.com/opencontainers/runtime-spec/specs-go), as runc, containerd
// and podman use: the field names and JSON tags are the spec's, not a
// copy that could drift from it.
package oci

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ConfigFile is the name of a bundle's configuration.
const ConfigFile = "config.json"

// Load reads BUNDLE/config.json and returns it with the absolute path of
// the container's root file system (root.path, relative to the bundle
// unless absolute).
func Load(bundle string) (*specs.Spec, string, error) {
	abs, err := filepath.Abs(bundle)
	if err != nil {
		return nil, "", fmt.Errorf("bundle %s: %w", bundle, err)
	}
	file := filepath.Join(abs, ConfigFile)
	data, err := os.ReadFile(file)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if _, dirErr := os.Stat(abs); dirErr != nil {
			return nil, "", fmt.Errorf("bundle %s: %w", bundle, dirErr)
		}
		return nil, "", fmt.Errorf("bundle %s has no %s: crun spec --bundle %s writes a default one", bundle, ConfigFile, bundle)
	case err != nil:
		return nil, "", fmt.Errorf("read %s: %w", file, err)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, jsonError(data, err))
	}
	if err := checkVersion(s.Version); err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	rootfs, err := rootPath(abs, &s)
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", file, err)
	}
	return &s, rootfs, nil
}

// jsonError says where in the file the JSON is wrong, by line and column.
func jsonError(data []byte, err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		line, col := position(data, syntax.Offset)
		return fmt.Errorf("malformed JSON at line %d, column %d (byte %d): %v", line, col, syntax.Offset, syntax)
	case errors.As(err, &typ):
		line, col := position(data, typ.Offset)
		return fmt.Errorf("line %d, column %d (byte %d): %s is a JSON %s, want a %s", line, col, typ.Offset, typ.Field, typ.Value, typ.Type)
	}
	return fmt.Errorf("malformed JSON: %w", err)
}

// position turns a byte offset into a line and a column, from 1.
func position(data []byte, offset int64) (line, col int) {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = int(offset) - (bytes.LastIndexByte(before, '\n') + 1)
	if col < 1 {
		col = 1
	}
	return line, col
}

// checkVersion accepts runtime-spec 1.x: a minor version only adds
// fields, and a field crun does not know is refused by Compile anyway.
func checkVersion(v string) error {
	if v == "" {
		return errors.New("ociVersion is missing: want a runtime-spec version such as " + specs.Version)
	}
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return fmt.Errorf("ociVersion %q is not a version such as %s", v, specs.Version)
	}
	if n != specs.VersionMajor {
		return fmt.Errorf("ociVersion %q: crun supports runtime-spec %d.x (up to %s), not %d.x", v, specs.VersionMajor, specs.Version, n)
	}
	return nil
}

// rootPath is root.path made absolute against the bundle.
func rootPath(bundle string, s *specs.Spec) (string, error) {
	if s.Root == nil || s.Root.Path == "" {
		return "", errors.New("root.path is missing: give the container's root file system, e.g. \"rootfs\" in the bundle")
	}
	if filepath.IsAbs(s.Root.Path) {
		return filepath.Clean(s.Root.Path), nil
	}
	return filepath.Join(bundle, s.Root.Path), nil
}
