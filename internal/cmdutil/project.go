package cmdutil

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CurrentProjectFile, in the config dir, holds the project chosen with
// `kgate project use`.
const CurrentProjectFile = "current-project"

// ReadCurrentProject returns the project chosen with `kgate project use`, or
// "" when none is.
func ReadCurrentProject(configDir string) (string, error) {
	b, err := os.ReadFile(filepath.Join(configDir, CurrentProjectFile))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("reading the current project: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// WriteCurrentProject records the current project ("" forgets it), in a
// 0600 file written atomically.
func WriteCurrentProject(configDir, name string) error {
	path := filepath.Join(configDir, CurrentProjectFile)
	if name == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	if err := os.MkdirAll(configDir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(configDir, ".current-project-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(name + "\n"); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}
