// Package gendata generates synthetic GeoServer data directories: a
// catalog of any size, laid out and spelled the way GeoServer itself writes
// one, for benchmarks and for testing the catalog consistency check.
//
// # Layout
//
// Generate writes, under its target directory:
//
//	global.xml logging.xml wms.xml wfs.xml wcs.xml wmts.xml gwc-gs.xml
//	workspaces/default.xml                           the default workspace
//	workspaces/WS/workspace.xml, namespace.xml
//	workspaces/WS/settings.xml, wms.xml, wfs.xml     some workspaces only
//	workspaces/WS/STORE/datastore.xml                PostGIS or Shapefile
//	workspaces/WS/STORE/coveragestore.xml            GeoTIFF
//	workspaces/WS/STORE/LAYER/featuretype.xml        or coverage.xml
//	workspaces/WS/STORE/LAYER/layer.xml
//	workspaces/WS/STORE/LAYER/*.ftl                  some vector layers
//	styles/NAME.xml, NAME.sld (, NAME.svg)           built-in and global styles
//	workspaces/WS/styles/NAME.xml, NAME.sld          workspace styles
//	layergroups/NAME.xml, workspaces/WS/layergroups/NAME.xml
//	gwc-layers/LayerInfoImpl-…xml                    one per layer and group
//	gwc/geowebcache.xml
//	security/…                                       as GeoServer initialises it
//	logs/geoserver.log                               node-local
//	data/ temp/ www/ palettes/ plugIns/ validation/ user_projections/ demo/  (empty)
//
// Every catalog object has an id in GeoServer's format
// (LayerInfoImpl--570ae188:124761b8d78:-7fca, see ids.go) and refers to
// others by id: layer to resource (featureType or coverage) and styles,
// resource to namespace and store, store to workspace, layer group to
// layers and styles. Catalog files are written like XStream writes them:
// two-space indentation and no newline at the end.
//
// A tree of N layers holds about 5N files: per layer a resource, a layer
// and a tile layer file, templates for most vector layers, and a style per
// five layers or so. 10,000 layers make about 50,000 files and 11,000
// directories.
//
// # Determinism
//
// The same Options give a byte-identical tree, with the same modes
// (0644 files, 0755 directories, 0600 and 0700 below security/, whatever
// the umask) and the same modification times, nanoseconds included. The
// catalog is first built in memory from one random stream seeded by
// Options.Seed; files are then rendered and written in parallel, each
// from the model alone, and directory times are set last, deepest first.
// Access times are set equal to modification times but reading the tree
// changes them.
//
// # Failure
//
// Generate refuses a target that exists and is not empty (ErrNotEmpty).
// Any file system error stops it; what it wrote so far stays, for the
// caller to remove.
package gendata
