// Package rootfs makes root file systems for containers: Create builds a
// minimal one from a static busybox found on the host, and Import unpacks
// one from a tar archive (such as an Alpine minirootfs or a `docker
// export`) or from an OCI image layout.
//
// Import treats its input as untrusted: no entry may create, change or
// remove anything outside the target directory, whether by "..", by an
// absolute name, by writing through a symlink or by hard-linking a file
// from outside. Symlinks are created as they are but never followed.
package rootfs
