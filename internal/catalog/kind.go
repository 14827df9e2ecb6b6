package catalog

import "strings"

// Kind is the kind of a catalog object file. Its value is the file's base
// name without ".xml" for the per-directory files (workspace.xml ->
// "workspace"), so it reads well in SQL and logs.
type Kind string

// The kinds of catalog object files. KindNone is every other file.
const (
	KindNone          Kind = ""
	KindWorkspace     Kind = "workspace"
	KindNamespace     Kind = "namespace"
	KindDataStore     Kind = "datastore"
	KindCoverageStore Kind = "coveragestore"
	KindWMSStore      Kind = "wmsstore"
	KindWMTSStore     Kind = "wmtsstore"
	KindFeatureType   Kind = "featuretype"
	KindCoverage      Kind = "coverage"
	KindWMSLayer      Kind = "wmslayer"
	KindWMTSLayer     Kind = "wmtslayer"
	KindLayer         Kind = "layer"
	KindStyle         Kind = "style"
	KindLayerGroup    Kind = "layergroup"
)

// Root is the root element GeoServer writes for an object of kind k
// ("dataStore" for KindDataStore), or "" for KindNone and unknown kinds.
func (k Kind) Root() string {
	switch k {
	case KindWorkspace:
		return "workspace"
	case KindNamespace:
		return "namespace"
	case KindDataStore:
		return "dataStore"
	case KindCoverageStore:
		return "coverageStore"
	case KindWMSStore:
		return "wmsStore"
	case KindWMTSStore:
		return "wmtsStore"
	case KindFeatureType:
		return "featureType"
	case KindCoverage:
		return "coverage"
	case KindWMSLayer:
		return "wmsLayer"
	case KindWMTSLayer:
		return "wmtsLayer"
	case KindLayer:
		return "layer"
	case KindStyle:
		return "style"
	case KindLayerGroup:
		return "layerGroup"
	}
	return ""
}

// IsStore tells whether k is one of the store kinds.
func (k Kind) IsStore() bool {
	return k == KindDataStore || k == KindCoverageStore || k == KindWMSStore || k == KindWMTSStore
}

// IsResource tells whether k is one of the resource kinds (what a layer
// publishes).
func (k Kind) IsResource() bool {
	return k == KindFeatureType || k == KindCoverage || k == KindWMSLayer || k == KindWMTSLayer
}

// Classify tells from a slash-separated path relative to the data directory
// root whether the file is a catalog object file, and of which kind. It
// looks at the path only, never at the content, and is safe for concurrent
// use. One leading slash is ignored; names are case-sensitive, as GeoServer
// reads them.
//
// The layouts are the ones GeoServer's loader reads:
//
//	workspaces/WS/workspace.xml                    workspace
//	workspaces/WS/namespace.xml                    namespace
//	workspaces/WS/STORE/datastore.xml              datastore (also coveragestore, wmsstore, wmtsstore)
//	workspaces/WS/STORE/LAYER/featuretype.xml      featuretype (also coverage, wmslayer, wmtslayer)
//	workspaces/WS/STORE/LAYER/layer.xml            layer
//	styles/NAME.xml, workspaces/WS/styles/NAME.xml            style
//	layergroups/NAME.xml, workspaces/WS/layergroups/NAME.xml  layergroup
//
// Everything else is KindNone: SLD and other style sources, global.xml and
// the service files (wms.xml, workspaces/WS/wfs.xml, ...), settings.xml,
// and workspaces/default.xml, which is a copy of the default workspace's
// workspace.xml with the same id and must not be indexed a second time.
// workspaces/WS/styles/datastore.xml is a style named "datastore": the
// styles and layergroups folders win over the store layout.
func Classify(path string) Kind {
	path = strings.TrimPrefix(path, "/")
	if !strings.HasSuffix(path, ".xml") {
		return KindNone
	}
	var seg [6]string
	n := 0
	for rest := path; ; n++ {
		if n == len(seg) {
			return KindNone
		}
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			seg[n] = rest
			n++
			break
		}
		seg[n], rest = rest[:i], rest[i+1:]
	}
	for _, s := range seg[:n] {
		if s == "" || s == "." || s == ".." {
			return KindNone
		}
	}
	file := seg[n-1]
	switch n {
	case 2:
		switch seg[0] {
		case "styles":
			return KindStyle
		case "layergroups":
			return KindLayerGroup
		}
	case 3:
		if seg[0] != "workspaces" {
			break
		}
		switch file {
		case "workspace.xml":
			return KindWorkspace
		case "namespace.xml":
			return KindNamespace
		}
	case 4:
		if seg[0] != "workspaces" {
			break
		}
		switch seg[2] {
		case "styles":
			return KindStyle
		case "layergroups":
			return KindLayerGroup
		}
		switch file {
		case "datastore.xml":
			return KindDataStore
		case "coveragestore.xml":
			return KindCoverageStore
		case "wmsstore.xml":
			return KindWMSStore
		case "wmtsstore.xml":
			return KindWMTSStore
		}
	case 5:
		if seg[0] != "workspaces" {
			break
		}
		switch file {
		case "featuretype.xml":
			return KindFeatureType
		case "coverage.xml":
			return KindCoverage
		case "wmslayer.xml":
			return KindWMSLayer
		case "wmtslayer.xml":
			return KindWMTSLayer
		case "layer.xml":
			return KindLayer
		}
	}
	return KindNone
}

// PathWorkspace is the workspace a path lies in: WS for
// "workspaces/WS/...", "" for paths outside any workspace (global styles
// and layer groups, workspaces/default.xml). It is how a layer.xml or a
// namespace.xml, which name no workspace, is tied to one. One leading slash
// is ignored. It is safe for concurrent use.
func PathWorkspace(path string) string {
	path = strings.TrimPrefix(path, "/")
	rest, ok := strings.CutPrefix(path, "workspaces/")
	if !ok {
		return ""
	}
	ws, _, ok := strings.Cut(rest, "/")
	if !ok {
		return "" // workspaces/default.xml
	}
	return ws
}
