// Package pathspec decides which paths of a data directory are node-local:
// logs, temporary files, lock files and the GeoWebCache tile cache belong
// to one node and never reach the database.
package pathspec

import (
	"fmt"

	"github.com/bmatcuk/doublestar/v4"
)

// DefaultLocal are the globs of GeoServer's node-local paths, relative to
// the data directory. "dir/**" covers the directory itself and all below.
var DefaultLocal = []string{
	"logs/**", "temp/**", "tmp/**", "legendsamples/**", "filelocks/**",
	"**/*.xml.lock",
	"gwc/**", // the tile cache; its configuration is excepted below
}

// DefaultShared are exceptions to DefaultLocal: the GeoWebCache
// configuration (including disk quota) lives in gwc/ beside the tiles but is
// cluster-wide.
var DefaultShared = []string{"gwc", "gwc/geowebcache*.xml"}

// Matcher tells node-local paths from shared ones. It is safe for
// concurrent use.
type Matcher struct {
	local, shared []string
}

// New returns a Matcher for the default globs plus extra local globs.
func New(extra ...string) (*Matcher, error) {
	for _, g := range extra {
		if !doublestar.ValidatePattern(g) {
			return nil, fmt.Errorf("glob %q is not valid (see https://pkg.go.dev/github.com/bmatcuk/doublestar/v4#Match)", g)
		}
	}
	return &Matcher{
		local:  append(append([]string(nil), DefaultLocal...), extra...),
		shared: DefaultShared,
	}, nil
}

// Local tells whether rel (slash-separated, relative to the data directory
// root) is node-local.
func (m *Matcher) Local(rel string) bool {
	if rel == "" {
		return false
	}
	for _, g := range m.shared {
		if ok, _ := doublestar.Match(g, rel); ok {
			return false
		}
	}
	for _, g := range m.local {
		if ok, _ := doublestar.Match(g, rel); ok {
			return true
		}
	}
	return false
}
