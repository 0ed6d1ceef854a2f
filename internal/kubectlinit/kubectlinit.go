// Package kubectlinit keeps kubectl's libraries from loading kubectl's
// message catalogs when kgate starts.
//
// k8s.io/kubectl/pkg/cmd/events (imported for its event sorting and printer)
// translates its help text in a package init, and kubectl's first
// translation builds a zip of the catalogs and parses them: about 235
// million instructions, a third of a 100 MB `kgate cp`, on every run of
// every command. kgate's own text is not translated, so the catalogs are
// never needed; with this loader i18n.T returns its text as written.
//
// Go initializes packages in import-path order once their imports are ready,
// so this package (github.com/...) runs before any k8s.io/kubectl package
// that imports i18n; cmd/kgate imports it for that.
package kubectlinit

import "k8s.io/kubectl/pkg/util/i18n"

func init() {
	_ = i18n.SetLoadTranslationsFunc(func() error { return nil })
}
