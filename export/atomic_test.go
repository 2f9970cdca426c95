package export

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	fail := errors.New("disk on fire")
	tests := []struct {
		name     string
		write    func(io.Writer) error
		wantErr  error
		wantData string
	}{
		{"success replaces the file", func(w io.Writer) error {
			_, err := io.WriteString(w, "new")
			return err
		}, nil, "new"},
		{"failure leaves the old file", func(w io.Writer) error {
			io.WriteString(w, "half a profi")
			return fail
		}, fail, "old"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			path := filepath.Join(dir, "out.pb.gz")
			if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
				t.Fatal(err)
			}
			err := WriteFileAtomic(path, tt.write)
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("WriteFileAtomic = %v, want %v", err, tt.wantErr)
			}
			if data, _ := os.ReadFile(path); string(data) != tt.wantData {
				t.Errorf("file holds %q, want %q", data, tt.wantData)
			}
			entries, _ := os.ReadDir(dir)
			if len(entries) != 1 {
				t.Errorf("directory holds %d files, want only the output", len(entries))
			}
			if info, _ := os.Stat(path); tt.wantErr == nil && info.Mode().Perm() != 0o644 {
				t.Errorf("mode %v, want 0644", info.Mode().Perm())
			}
		})
	}
}

func TestWriteFileAtomicErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name, path, want string
	}{
		{"missing directory", filepath.Join(dir, "no", "out.svg"), "writing " + filepath.Join(dir, "no", "out.svg") + ": open "},
		{"target is a directory", dir, "writing " + dir + ": rename "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFileAtomic(tt.path, func(io.Writer) error { return nil })
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("WriteFileAtomic = %v, want it to start %q", err, tt.want)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("left %d files behind", len(entries))
			}
		})
	}
}

func TestCheckWritable(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"writable", filepath.Join(dir, "out.pb.gz"), ""},
		{"existing file", file, ""},
		{"missing directory", filepath.Join(dir, "no", "out.pb.gz"),
			"cannot write " + filepath.Join(dir, "no", "out.pb.gz") + ": directory " + filepath.Join(dir, "no") + " does not exist: create it or choose another output path"},
		{"parent is a file", filepath.Join(file, "out.pb.gz"),
			"cannot write " + filepath.Join(file, "out.pb.gz") + ": " + file + " is not a directory: choose another output path"},
		{"path is a directory", dir, "cannot write " + dir + ": it is a directory: name a file inside it instead"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckWritable(tt.path)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || err.Error() != tt.want) {
				t.Errorf("CheckWritable = %v, want %q", err, tt.want)
			}
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("left %d files behind, want only %s", len(entries), file)
	}
}
