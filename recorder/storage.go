package recorder

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// Storage holds recording, clip and timeline files under slash-separated keys
// such as "recordings/burst-12/part-001.mp4". The local Dir is the only
// implementation today; an S3-compatible one can follow because callers only
// append, read ranges and replace whole small files.
type Storage interface {
	// Create makes (or truncates) the file at key for appending.
	Create(ctx context.Context, key string) (WriteFile, error)
	// Open opens the file at key for reading with seeking (for range
	// requests and cutting). It returns an error matching fs.ErrNotExist
	// when there is none.
	Open(ctx context.Context, key string) (ReadFile, error)
	// Put replaces the file at key with data atomically.
	Put(ctx context.Context, key string, data []byte) error
	// List returns the keys under prefix, sorted.
	List(ctx context.Context, prefix string) ([]string, error)
}

// WriteFile is an open file being appended to.
type WriteFile interface {
	io.Writer
	// Truncate cuts the file to size bytes and moves the write position there
	// (used to drop a half-written fragment after a write error).
	Truncate(size int64) error
	Sync() error
	Close() error
}

// ReadFile is an open file for reading.
type ReadFile interface {
	io.ReadSeekCloser
	io.ReaderAt
	Size() int64
	ModTime() time.Time
}

// Dir is Storage in a local directory. Keys map to paths below Root.
type Dir struct {
	Root string
}

var _ Storage = Dir{}

// path checks key and returns its local path.
func (d Dir) path(key string) (string, error) {
	if key == "" || !fs.ValidPath(key) || strings.Contains(key, "\\") {
		return "", fmt.Errorf("storage key %q: %w", key, fs.ErrInvalid)
	}
	return filepath.Join(d.Root, filepath.FromSlash(key)), nil
}

// Create implements Storage.
func (d Dir) Create(_ context.Context, key string) (WriteFile, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	f, err := os.OpenFile(p, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", key, err)
	}
	return &dirWriteFile{File: f}, nil
}

type dirWriteFile struct{ *os.File }

func (f *dirWriteFile) Truncate(size int64) error {
	if err := f.File.Truncate(size); err != nil {
		return err
	}
	_, err := f.File.Seek(size, io.SeekStart)
	return err
}

// Open implements Storage.
func (d Dir) Open(_ context.Context, key string) (ReadFile, error) {
	p, err := d.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	return &dirReadFile{File: f, size: st.Size(), mod: st.ModTime()}, nil
}

type dirReadFile struct {
	*os.File
	size int64
	mod  time.Time
}

func (f *dirReadFile) Size() int64        { return f.size }
func (f *dirReadFile) ModTime() time.Time { return f.mod }

// Put implements Storage: write to a temporary file, sync, rename.
func (d Dir) Put(_ context.Context, key string, data []byte) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".put-*")
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// List implements Storage.
func (d Dir) List(_ context.Context, prefix string) ([]string, error) {
	dir := path.Dir(prefix + "x")
	p, err := d.path(dir)
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", prefix, err)
	}
	var keys []string
	for _, e := range entries {
		k := path.Join(dir, e.Name())
		if !e.IsDir() && strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	return keys, nil
}

// TruncateFile cuts the local file at key to size bytes; repair uses it.
func (d Dir) TruncateFile(key string, size int64) error {
	p, err := d.path(key)
	if err != nil {
		return err
	}
	return os.Truncate(p, size)
}
