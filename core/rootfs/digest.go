package rootfs

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// blobPath returns where a blob lives in the layout. The path is built
// from the checked hex digest, never from the digest string, which comes
// from the untrusted layout and could say "sha256:../../etc/shadow".
func blobPath(layout, digest string) (string, error) {
	alg, encoded, ok := strings.Cut(digest, ":")
	if !ok || alg != "sha256" {
		return "", fmt.Errorf("digest %q: only sha256 digests are supported", digest)
	}
	raw, err := hex.DecodeString(encoded)
	if err != nil || len(raw) != sha256.Size || encoded != strings.ToLower(encoded) {
		return "", fmt.Errorf("digest %q: not 64 lower-case hex digits", digest)
	}
	return filepath.Join(layout, "blobs", "sha256", hex.EncodeToString(raw)), nil
}

// blob reads a blob while hashing it, so that its digest is checked
// without reading it twice.
type blob struct {
	f      *os.File
	desc   descriptor
	path   string
	hash   hash.Hash
	r      io.Reader
	nbytes int64
}

func openBlob(layout string, desc descriptor) (*blob, error) {
	p, err := blobPath(layout, desc.Digest)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("open blob %s: %w", desc.Digest, err)
	}
	b := &blob{f: f, desc: desc, path: p, hash: sha256.New()}
	b.r = io.TeeReader(f, b.hash)
	return b, nil
}

func (b *blob) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.nbytes += int64(n)
	return n, err
}

func (b *blob) Close() error { return b.f.Close() }

// verify reads what is left of the blob (a decompressor or tar reader
// may stop before the end) and checks its size and digest.
func (b *blob) verify() error {
	if _, err := io.Copy(io.Discard, b); err != nil {
		return fmt.Errorf("read blob %s: %w", b.desc.Digest, err)
	}
	if b.desc.Size > 0 && b.nbytes != b.desc.Size {
		return fmt.Errorf("blob %s: size is %d, descriptor says %d", b.desc.Digest, b.nbytes, b.desc.Size)
	}
	got := "sha256:" + hex.EncodeToString(b.hash.Sum(nil))
	if got != b.desc.Digest {
		return fmt.Errorf("blob %s: digest mismatch: content hashes to %s", b.desc.Digest, got)
	}
	return nil
}
