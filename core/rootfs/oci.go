package rootfs

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// Media types of the OCI image spec, and the Docker ones it grew from,
// which are still found in layouts written by Docker tools.
const (
	mediaTypeIndex          = "application/vnd.oci.image.index.v1+json"
	mediaTypeManifest       = "application/vnd.oci.image.manifest.v1+json"
	mediaTypeDockerList     = "application/vnd.docker.distribution.manifest.list.v2+json"
	mediaTypeDockerManifest = "application/vnd.docker.distribution.manifest.v2+json"
)

// layerTypes are the layer media types Import can apply. Whether a layer
// is compressed is told by its content (see decompress), so the media
// type only decides what is accepted; zstd, for one, is not.
var layerTypes = map[string]bool{
	"application/vnd.oci.image.layer.v1.tar":                       true,
	"application/vnd.oci.image.layer.v1.tar+gzip":                  true,
	"application/vnd.oci.image.layer.nondistributable.v1.tar":      true,
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": true,
	"application/vnd.docker.image.rootfs.diff.tar.gzip":            true,
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":    true,
}

type descriptor struct {
	MediaType string    `json:"mediaType"`
	Digest    string    `json:"digest"`
	Size      int64     `json:"size"`
	Platform  *platform `json:"platform,omitempty"`
}

type platform struct {
	OS           string `json:"os"`
	Architecture string `json:"architecture"`
	Variant      string `json:"variant,omitempty"`
}

func (p *platform) String() string {
	if p == nil {
		return "unknown platform"
	}
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// object is an index or a manifest: their JSON differs by which list
// they hold, and the media type field is optional.
type object struct {
	MediaType string       `json:"mediaType"`
	Manifests []descriptor `json:"manifests"`
	Layers    []descriptor `json:"layers"`
}

func (o *object) isIndex(desc descriptor) bool {
	mt := desc.MediaType
	if mt == "" {
		mt = o.MediaType
	}
	switch mt {
	case mediaTypeIndex, mediaTypeDockerList:
		return true
	case "":
		return o.Manifests != nil
	}
	return false
}

// maxJSON bounds an index or manifest, which are small, so that a
// layout pointing its manifest at a huge layer does not eat memory.
const maxJSON = 4 << 20

// importLayout applies the layers of the image chosen from an OCI layout.
func importLayout(a *applier, layout string, opts ImportOptions) error {
	if !isLayout(layout) {
		return fmt.Errorf("import %s: a directory, but not an OCI image layout (it needs oci-layout and index.json)", layout)
	}
	want, err := wantPlatform(opts.Platform)
	if err != nil {
		return err
	}
	var idx object
	if err := readJSONFile(filepath.Join(layout, "index.json"), &idx); err != nil {
		return fmt.Errorf("import %s: %w", layout, err)
	}
	cands, err := manifests(layout, idx)
	if err != nil {
		return fmt.Errorf("import %s: %w", layout, err)
	}
	c, err := choose(cands, want)
	if err != nil {
		return fmt.Errorf("import %s: %w", layout, err)
	}
	mt := c.desc.MediaType
	if mt == "" {
		mt = c.obj.MediaType
	}
	if mt != "" && mt != mediaTypeManifest && mt != mediaTypeDockerManifest {
		return fmt.Errorf("import %s: manifest %s has unsupported media type %q", layout, c.desc.Digest, mt)
	}
	// Check every layer before applying any, so that an image crun
	// cannot import is refused before dir is touched.
	for _, l := range c.obj.Layers {
		if !layerTypes[l.MediaType] {
			return fmt.Errorf("import %s: layer %s has unsupported media type %q", layout, l.Digest, l.MediaType)
		}
		if _, err := blobPath(layout, l.Digest); err != nil {
			return fmt.Errorf("import %s: layer: %w", layout, err)
		}
	}
	a.report.Manifest = c.desc.Digest
	for _, l := range c.obj.Layers {
		if err := applyBlob(a, layout, l); err != nil {
			return fmt.Errorf("import %s: %w", layout, err)
		}
	}
	return nil
}

// candidate is a manifest with the descriptor that led to it, which
// carries the platform when it came from an index.
type candidate struct {
	desc descriptor
	obj  object
}

// manifests lists the image manifests of index.json, looking one level
// into nested indexes, as multi-platform images are usually stored as
// index.json -> image index -> one manifest per platform.
func manifests(layout string, idx object) ([]candidate, error) {
	var out []candidate
	for _, d := range idx.Manifests {
		var o object
		if err := readJSONBlob(layout, d, &o); err != nil {
			return nil, err
		}
		if !o.isIndex(d) {
			out = append(out, candidate{d, o})
			continue
		}
		for _, n := range o.Manifests {
			var no object
			if err := readJSONBlob(layout, n, &no); err != nil {
				return nil, err
			}
			if no.isIndex(n) {
				return nil, fmt.Errorf("index %s: nested index %s: only one level of nesting is supported", d.Digest, n.Digest)
			}
			out = append(out, candidate{n, no})
		}
	}
	return out, nil
}

// choose picks the manifest for the wanted platform, or the only one.
func choose(cands []candidate, want platform) (candidate, error) {
	for _, c := range cands {
		p := c.desc.Platform
		if p != nil && p.OS == want.OS && p.Architecture == want.Architecture &&
			(want.Variant == "" || p.Variant == want.Variant) {
			return c, nil
		}
	}
	switch len(cands) {
	case 0:
		return candidate{}, fmt.Errorf("index.json lists no image manifest")
	case 1:
		return cands[0], nil
	}
	var have []string
	for _, c := range cands {
		have = append(have, c.desc.Platform.String())
	}
	return candidate{}, fmt.Errorf("no image for %s among %d manifests: %s", want.String(), len(cands), strings.Join(have, ", "))
}

// wantPlatform parses "os/arch[/variant]", defaulting to this machine.
func wantPlatform(s string) (platform, error) {
	if s == "" {
		return platform{OS: runtime.GOOS, Architecture: runtime.GOARCH}, nil
	}
	f := strings.Split(s, "/")
	if len(f) < 2 || len(f) > 3 || f[0] == "" || f[1] == "" {
		return platform{}, fmt.Errorf("platform %q: want os/arch or os/arch/variant", s)
	}
	p := platform{OS: f[0], Architecture: f[1]}
	if len(f) == 3 {
		p.Variant = f[2]
	}
	return p, nil
}

// applyBlob applies one layer, checking its digest as it is read.
func applyBlob(a *applier, layout string, desc descriptor) error {
	b, err := openBlob(layout, desc)
	if err != nil {
		return err
	}
	defer b.Close()
	r, err := decompress(b)
	if err != nil {
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	if err := a.applyLayer(r); err != nil {
		// A corrupt blob often breaks the tar stream first; the digest
		// says better what is wrong.
		if verr := b.verify(); verr != nil {
			return verr
		}
		return fmt.Errorf("layer %s: %w", desc.Digest, err)
	}
	return b.verify()
}

func readJSONBlob(layout string, desc descriptor, v any) error {
	if desc.Size > maxJSON {
		return fmt.Errorf("blob %s: %d bytes is too big for an index or manifest", desc.Digest, desc.Size)
	}
	b, err := openBlob(layout, desc)
	if err != nil {
		return err
	}
	defer b.Close()
	data, err := io.ReadAll(io.LimitReader(b, maxJSON))
	if err != nil {
		return fmt.Errorf("read blob %s: %w", desc.Digest, err)
	}
	if err := b.verify(); err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse blob %s: %w", desc.Digest, err)
	}
	return nil
}

func readJSONFile(p string, v any) error {
	data, err := os.ReadFile(p)
	if err != nil {
		return fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("parse %s: %w", p, err)
	}
	return nil
}
