// Package watcher will watch a plain directory recursively with fsnotify,
// debounced and rescanned on overflow, for `gscluster sync` and live
// migration. It holds no code yet; see DESIGN.md.
package watcher
