// Command gendocs writes kgate's generated, checked-in files: the shell
// completion scripts in completions/ and the man pages in man/. With -check
// it writes nothing and fails when the checked-in files differ from what it
// would write (make test runs it that way).
//
//	go run ./cmd/gendocs            # make completions man
//	go run ./cmd/gendocs -check     # make check-generated
package main

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/kgate/kgate/internal/docs"
)

func main() {
	root := flag.String("root", ".", "the repository's root directory")
	only := flag.String("only", "", "write only this directory: completions or man")
	check := flag.Bool("check", false, "write nothing; exit 1 when a checked-in file is out of date")
	flag.Parse()
	if err := run(*root, *only, *check); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

// dirs are the directories gendocs owns: every file in them is generated.
var dirs = []string{"completions", "man"}

func run(root, only string, check bool) error {
	files, err := docs.GeneratedDocs()
	if err != nil {
		return err
	}
	owned := dirs
	if only != "" {
		if only != "completions" && only != "man" {
			return fmt.Errorf("-only must be completions or man, not %q", only)
		}
		owned = []string{only}
	}
	var stale []string
	for _, dir := range owned {
		want := map[string][]byte{}
		for name, b := range files {
			if strings.HasPrefix(name, dir+"/") {
				want[name] = b
			}
		}
		// Files of commands that no longer exist.
		existing, err := filepath.Glob(filepath.Join(root, dir, "*"))
		if err != nil {
			return err
		}
		for _, path := range existing {
			rel := filepath.ToSlash(strings.TrimPrefix(path, filepath.Clean(root)+string(filepath.Separator)))
			if filepath.Base(path) == ".gitkeep" {
				continue
			}
			if _, ok := want[rel]; !ok {
				stale = append(stale, rel+" (no longer generated)")
				if !check {
					if err := os.Remove(path); err != nil {
						return err
					}
				}
			}
		}
		for name, b := range want {
			path := filepath.Join(root, filepath.FromSlash(name))
			have, err := os.ReadFile(path)
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			if err == nil && bytes.Equal(have, b) {
				continue
			}
			stale = append(stale, name)
			if check {
				continue
			}
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			if err := os.WriteFile(path, b, 0o644); err != nil {
				return err
			}
		}
	}
	sort.Strings(stale)
	if check && len(stale) > 0 {
		return fmt.Errorf("these generated files are out of date:\n  %s\nRun `make completions man` and commit the result",
			strings.Join(stale, "\n  "))
	}
	if !check {
		for _, s := range stale {
			fmt.Fprintln(os.Stderr, "wrote", s)
		}
	}
	return nil
}
