package sdk

import (
	"context"
	"fmt"
)

// nameOf asks a plugin its name, as the server indexes plugins by it.
func nameOf(p Plugin) (string, error) {
	d, err := p.Describe(context.Background())
	if err != nil {
		return "", fmt.Errorf("describe: %w", err)
	}
	if err := d.Validate(); err != nil {
		return "", fmt.Errorf("plugin %q: invalid description: %w", d.Name, err)
	}
	return d.Name, nil
}
