package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/kgate/kgate/internal/atomicfile"
)

// CurrentProjectFile, in the config dir, holds the project chosen with
// `kgate project use`.
const CurrentProjectFile = "current-project"

// ReadCurrentProject returns the project chosen with `kgate project use`, or
// "" when none is.
func ReadCurrentProject(configDir string) (string, error) {
	name, _, err := ReadCurrent(configDir)
	return name, err
}

// ReadCurrent returns the project chosen with `kgate project use` and the
// namespace chosen in it ("" for the project's default one).
func ReadCurrent(configDir string) (project, namespace string, err error) {
	return ReadCurrentIn(configDir, "")
}

// currentFile is the current project's file for cluster ("" for a policy
// that names no clusters): each cluster keeps its own.
func currentFile(configDir, cluster string) (string, error) {
	if cluster == "" {
		return filepath.Join(configDir, CurrentProjectFile), nil
	}
	for _, c := range cluster {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return "", fmt.Errorf("invalid cluster name %q", cluster)
		}
	}
	return filepath.Join(configDir, CurrentProjectFile+"-"+cluster), nil
}

// ReadCurrentIn is ReadCurrent for one cluster of a policy that names
// clusters: the project chosen with `kgate --cluster NAME project use`.
func ReadCurrentIn(configDir, cluster string) (project, namespace string, err error) {
	path, err := currentFile(configDir, cluster)
	if err != nil {
		return "", "", err
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", "", nil
	}
	if err != nil {
		return "", "", fmt.Errorf("reading the current project: %w", err)
	}
	// The first line is the project; a second one, the namespace in it.
	first, rest, _ := strings.Cut(string(b), "\n")
	ns, _, _ := strings.Cut(rest, "\n")
	return strings.TrimSpace(first), strings.TrimSpace(ns), nil
}

// WriteCurrentProject records the current project ("" forgets it), in a
// 0600 file written atomically.
func WriteCurrentProject(configDir, name string) error {
	return WriteCurrent(configDir, name, "")
}

// WriteCurrent records the current project and the namespace chosen in it
// ("" for the project's default one); an empty name forgets both.
func WriteCurrent(configDir, name, namespace string) error {
	return WriteCurrentIn(configDir, "", name, namespace)
}

// WriteCurrentIn is WriteCurrent for one cluster ("" for none).
func WriteCurrentIn(configDir, cluster, name, namespace string) error {
	path, err := currentFile(configDir, cluster)
	if err != nil {
		return err
	}
	if name == "" {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		return nil
	}
	content := name + "\n"
	if namespace != "" {
		content += namespace + "\n"
	}
	return atomicfile.Write(path, []byte(content))
}
