// Package catalog reads GeoServer catalog object files for the catalog
// index: which files of a data directory are catalog objects (Classify),
// and the id, name and references by id of each (Parse). It owns the
// knowledge of GeoServer's catalog layout and XML; it does no I/O and
// writes no SQL: dbstore calls it after each commit and stores the result.
//
// # What is a catalog file
//
// GeoServer keeps one XML file per catalog object, in a fixed layout:
//
//	workspaces/WS/workspace.xml, namespace.xml
//	workspaces/WS/STORE/datastore.xml (coveragestore, wmsstore, wmtsstore)
//	workspaces/WS/STORE/LAYER/featuretype.xml (coverage, wmslayer, wmtslayer)
//	workspaces/WS/STORE/LAYER/layer.xml
//	styles/NAME.xml, workspaces/WS/styles/NAME.xml
//	layergroups/NAME.xml, workspaces/WS/layergroups/NAME.xml
//
// Classify maps a path to its Kind from the path alone. Style sources
// (.sld, .css), service and settings files, and workspaces/default.xml (a
// copy of the default workspace's workspace.xml, same id) are not catalog
// objects.
//
// # What is read
//
// Objects refer to each other by id: a layer names its resource and
// styles, a resource its store and namespace, a store its workspace:
//
//	<resource class="featureType"><id>FeatureTypeInfoImpl--570ae188:124761b8d78:-7fc1</id></resource>
//
// Parse keeps those ids, the object's own id and name and a few
// descriptive fields (store and layer type, native name, namespace URI,
// style file, enabled). Only top-level children of the root element count;
// everything else (attributes, keywords, metadata, bounds) is skipped
// without being looked at. Two things a file does not say come from its
// path: a layer's and a namespace's workspace (PathWorkspace).
//
// Parse is a streaming pass over encoding/xml raw tokens, no reflection
// and no DOM; see BenchmarkParse for its speed.
//
// # How it fails
//
// The files stay the source of truth: a file that does not parse is still
// stored, and flagged. Parse therefore never panics on any input (FuzzParse)
// and reports every problem as a *ParseError that names it and its line:
// XML that is not well-formed, a root element other than its kind's, a
// repeated single-valued element such as <id>, a missing <id>. Along with
// the error it returns what it read so far. It does not check that
// references resolve: that needs the whole catalog, which is the index's
// job.
//
// Everything in this package is safe for concurrent use.
package catalog
