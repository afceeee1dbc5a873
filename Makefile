# crun: the plugin container runtime.
#   make run    build crun and a busybox rootfs, then start a shell in a container (as root)
#   make test   everything CI checks: gofmt, go vet, unit and privileged tests

GO      ?= go
# Static binaries: a dynamically linked crun (cgo's resolver, through
# pflag's use of net) spends 0.7 ms in the dynamic loader on every run.
export CGO_ENABLED = 0
BIN     := bin/crun
PLUGINS ?= uts,pid,mnt,chroot
ROOTFS  ?= bin/rootfs
CMD     ?= sh
PREFIX  ?= /usr/local

# Generated protobuf code is committed; `make proto` regenerates it with
# the pinned generators (protoc from apt: protobuf-compiler).
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.6
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.3.0
TOOLS              := $(CURDIR)/.cache/tools

# Example plugins: each its own module, importing only sdk/.
EXAMPLES := template ipc secrets net

.PHONY: all build run test test-next-go licenses licenses-check debug-build test-examples bench fuzz soak vet fmt-check proto install clean

all: build

# Two binaries, installed side by side: crun (the CLI, the parent side of
# a run and, forked, the child that prepares the container) and
# crun-plugins (the plugin host, the only one linking gRPC; started only
# when a plan is not cached).
#
# They are linked in .cache/link and copied into bin/: a binary the Go
# linker has just written (it writes through mmap) starts 0.14 ms slower,
# on every exec, than a copy of it written with write(2), as install or a
# package manager writes it (same bytes; measured with perf stat here,
# and 0.3 ms per container start).
LINK := .cache/link
build:
	@mkdir -p $(LINK) $(dir $(BIN))
	$(GO) build -o $(LINK)/crun ./cmd/crun
	$(GO) build -o $(LINK)/crun-plugins ./cmd/crun-plugins
	@for b in crun crun-plugins; do cmp -s $(LINK)/$$b $(dir $(BIN))$$b || install -m 0755 $(LINK)/$$b $(dir $(BIN))$$b; done

# The rootfs is made once, from the host's static busybox (apt-get install
# busybox-static); `make clean` removes it.
$(ROOTFS)/etc/crun-rootfs: | build
	./$(BIN) rootfs create $(ROOTFS)

run: build $(ROOTFS)/etc/crun-rootfs
	./$(BIN) --plugins $(PLUGINS) --rootfs $(ROOTFS) run $(CMD)

test: fmt-check vet debug-build licenses-check
	$(GO) test -count=1 ./...
	$(MAKE) test-examples
	$(MAKE) test-next-go

# The next Go release must build crun and pass the executor's tests: the
# forked child's code depends on what the compiler and linker promise
# (nosplit frames), not on the runtime's insides. The module proxy serves
# the toolchain.
NEXT_GO ?= go1.27.3
test-next-go:
	GOTOOLCHAIN=$(NEXT_GO) $(GO) build ./...
	GOTOOLCHAIN=$(NEXT_GO) $(GO) build -gcflags='all=-N -l' -o /dev/null ./cmd/crun
	GOTOOLCHAIN=$(NEXT_GO) $(GO) test -count=1 ./core/...

# A debugger's build (dlv debug) turns off optimisation: the forked
# child's code (core/spawn) must still fit the stack its nosplit functions
# may use, which the linker checks. The same for the next Go release.
debug-build:
	$(GO) build -gcflags='all=-N -l' -o /dev/null ./cmd/crun

test-examples:
	@for m in $(EXAMPLES); do \
		echo "== plugin-examples/$$m"; \
		(cd plugin-examples/$$m && $(GO) vet ./... && $(GO) mod tidy -diff && $(GO) test -count=1 ./...) || exit 1; \
	done

vet:
	$(GO) vet ./...

# The licences of what crun's binaries link, which they ask the binaries'
# documentation to carry.
licenses:
	GO=$(GO) bash .ci/third-party-licenses > docs/third-party-licenses.md

licenses-check:
	@GO=$(GO) bash .ci/third-party-licenses | cmp -s - docs/third-party-licenses.md || \
		{ echo "docs/third-party-licenses.md is not current: run make licenses"; exit 1; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# Start-up speed against unshare, bubblewrap, runc and Debian's crun (C),
# side by side (root; installs the peers from apt when missing).
bench:
	bash .ci/bench

# Kill crun at random moments SOAK_RUNS times (20 at a time), then crun
# cleanup: prints what is left (must be nothing). go test runs 200 (CI).
SOAK_RUNS ?= 2000
soak:
	CRUN_SOAK_RUNS=$(SOAK_RUNS) $(GO) test -count=1 -timeout 60m -run '^TestSoak$$' -v ./cmd/crun

# Every fuzz target for FUZZTIME each (default 60s): .ci/fuzz.
fuzz:
	GO=$(GO) bash .ci/fuzz

proto:
	GOBIN=$(TOOLS) $(GO) install $(PROTOC_GEN_GO)
	GOBIN=$(TOOLS) $(GO) install $(PROTOC_GEN_GO_GRPC)
	PATH=$(TOOLS):$$PATH protoc --go_out=. --go_opt=paths=source_relative \
		--go-grpc_out=. --go-grpc_opt=paths=source_relative sdk/internal/pb/plugin.proto

install: build
	install -m 0755 $(BIN) $(PREFIX)/bin/crun
	install -m 0755 $(dir $(BIN))crun-plugins $(PREFIX)/bin/crun-plugins

clean:
	rm -rf bin .cache
