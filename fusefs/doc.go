// Package fusefs will serve a node's replica of the tree as the GeoServer
// data directory through FUSE: writes spooled on local disk and committed in
// one transaction on close, kernel caches invalidated when changes arrive
// from elsewhere. It holds no code yet; see DESIGN.md.
package fusefs
