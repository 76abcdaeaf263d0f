package main

import (
	"bytes"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
)

// protocGenGoGRPC is the pinned protoc-gen-go-grpc; protoc-gen-go is the
// version of google.golang.org/protobuf in go.mod.
const protocGenGoGRPC = "google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.6.2"

var update = flag.Bool("update", false, "regenerate ordersv1/*.pb.go from ordersv1/orders.proto")

// TestGeneratedCodeIsCurrent regenerates the Go code of
// ordersv1/orders.proto with protoc (Debian's protobuf-compiler, which
// scripts/setup-peers.sh installs) and the pinned plugins, and compares
// it with the checked-in files. Run with -update to rewrite them.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	protoc, err := exec.LookPath("protoc")
	if err != nil {
		t.Fatal("protoc not found: install protobuf-compiler (scripts/setup-peers.sh does)")
	}
	bin, out := t.TempDir(), t.TempDir()
	run(t, "go", "build", "-o", filepath.Join(bin, "protoc-gen-go"), "google.golang.org/protobuf/cmd/protoc-gen-go")
	run(t, "env", "GOBIN="+bin, "go", "install", protocGenGoGRPC)
	run(t, protoc, "--plugin=protoc-gen-go="+filepath.Join(bin, "protoc-gen-go"), "--plugin=protoc-gen-go-grpc="+filepath.Join(bin, "protoc-gen-go-grpc"),
		"--go_out="+out, "--go_opt=paths=source_relative", "--go-grpc_out="+out, "--go-grpc_opt=paths=source_relative", "ordersv1/orders.proto")
	for _, name := range []string{"ordersv1/orders.pb.go", "ordersv1/orders_grpc.pb.go"} {
		fresh, err := os.ReadFile(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(name, fresh, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		current, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(withoutProtocVersion(fresh), withoutProtocVersion(current)) {
			t.Errorf("%s is not what orders.proto generates: run go test ./examples/grpc -run TestGeneratedCodeIsCurrent -update", name)
		}
	}
}

// withoutProtocVersion drops the header line naming protoc's version,
// which says which build of protoc ran, not what it generated.
func withoutProtocVersion(src []byte) []byte {
	return protocVersion.ReplaceAll(src, nil)
}

var protocVersion = regexp.MustCompile(`(?m)^//\s*-?\s*protoc\s+v\S+\n`)

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}
