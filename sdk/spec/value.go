package spec

import (
	"fmt"
	"strconv"
	"strings"
)

// CheckValue reports whether value is acceptable for an option of type t.
func CheckValue(t OptionType, value string) error {
	switch t {
	case TypeString:
		return nil
	case TypeBool:
		if _, err := strconv.ParseBool(value); err != nil {
			return fmt.Errorf("%q is not a boolean (use true or false)", value)
		}
	case TypeInt:
		if _, err := strconv.ParseInt(value, 10, 64); err != nil {
			return fmt.Errorf("%q is not an integer", value)
		}
	case TypeFloat:
		if _, err := strconv.ParseFloat(value, 64); err != nil {
			return fmt.Errorf("%q is not a number", value)
		}
	case TypeSize:
		if _, err := ParseSize(value); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown option type %q", t)
	}
	return nil
}

// ParseSize parses a byte count with an optional K, M, G or T suffix
// (powers of 1024, case-insensitive, an optional trailing B): "512K",
// "64m", "1GB", "4096".
func ParseSize(s string) (int64, error) {
	num := strings.TrimSuffix(strings.ToUpper(strings.TrimSpace(s)), "B")
	mult := int64(1)
	if n := len(num); n > 0 {
		switch num[n-1] {
		case 'K':
			mult = 1 << 10
		case 'M':
			mult = 1 << 20
		case 'G':
			mult = 1 << 30
		case 'T':
			mult = 1 << 40
		}
		if mult != 1 {
			num = num[:n-1]
		}
	}
	v, err := strconv.ParseInt(num, 10, 64)
	if err != nil || v < 0 || v > (1<<62)/mult {
		return 0, fmt.Errorf("%q is not a size (use a number of bytes with an optional K, M or G suffix)", s)
	}
	return v * mult, nil
}
