package oci

import (
	"reflect"
	"strconv"
	"strings"
)

// setFields lists the fields of v that are set, as config.json names
// them ("process.args", "mounts[2].options", "linux.resources.memory.swap"):
// a pointer that is not nil (even to a zero value: swappiness 0 is a
// setting), a string, number or bool that is not zero, a slice or map
// that is not empty. A struct is listed by its set fields; an element of a
// slice of structs with none set is listed itself ("mounts[2]"). Compile
// refuses every one no rule covers: nothing in config.json is ignored
// without a word.
func setFields(v any) []string {
	var out []string
	walk(reflect.ValueOf(v), "", &out)
	return out
}

func walk(v reflect.Value, path string, out *[]string) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return
		}
		e := v.Elem()
		if e.Kind() != reflect.Struct {
			*out = append(*out, path)
			return
		}
		walk(e, path, out)
	case reflect.Struct:
		before := len(*out)
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if !f.IsExported() || name == "-" {
				continue
			}
			if name == "" {
				name = f.Name
			}
			walk(v.Field(i), join(path, name), out)
		}
		// An empty element of a list is still there.
		if len(*out) == before && strings.HasSuffix(path, "]") {
			*out = append(*out, path)
		}
	case reflect.Slice, reflect.Array:
		if v.Len() == 0 {
			return
		}
		if elem := v.Type().Elem(); elem.Kind() != reflect.Struct && !(elem.Kind() == reflect.Pointer && elem.Elem().Kind() == reflect.Struct) {
			*out = append(*out, path)
			return
		}
		for i := 0; i < v.Len(); i++ {
			walk(v.Index(i), path+"["+strconv.Itoa(i)+"]", out)
		}
	case reflect.Map:
		if v.Len() > 0 {
			*out = append(*out, path)
		}
	default:
		if !v.IsZero() {
			*out = append(*out, path)
		}
	}
}

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// covers says whether field (a rule's "linux.namespaces") is field or
// holds it ("linux.namespaces[2].path").
func covers(rule, field string) bool {
	rest, ok := strings.CutPrefix(field, rule)
	return ok && (rest == "" || rest[0] == '.' || rest[0] == '[')
}
