package gendata

import (
	"encoding/base64"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The model is the whole catalog in memory, built sequentially from one
// random stream so that it depends on the seed alone. Rendering reads it
// from many goroutines and never changes it; what rendering draws at random
// comes from a stream of its own per object (objRand).

type workspace struct {
	serial            int
	name, uri         string
	id, nsID          string
	created, modified time.Time
	// local: the workspace has its own settings.xml and service overrides.
	local                         bool
	settingsID, wmsID, wfsID      string
	storeNames, styleNames        map[string]bool
	hasStyles, hasGroups, isFirst bool
}

type storeKind int

const (
	storePostGIS storeKind = iota
	storeShapefile
	storeGeoTIFF
)

type store struct {
	serial            int
	ws                *workspace
	kind              storeKind
	name, id, desc    string
	created, modified time.Time
	crs               *crs
	region            bbox // lon/lat box its data lies in
	// PostGIS
	host, database, schema, user, passwd string
	maxConn                              int
	// Shapefile and GeoTIFF
	url    string
	layers []*layer
}

func (s *store) isCoverage() bool { return s.kind == storeGeoTIFF }

type attr struct {
	name, binding string
	nillable      bool
}

type layer struct {
	serial                        int
	st                            *store
	topic                         string
	name, nativeName              string
	title, abstract               string
	keywords                      []string
	geom                          geomKind
	multi                         bool
	crs                           *crs
	ll, native                    bbox
	attrs                         []attr
	resID, id                     string
	defStyle                      *style
	styles                        []*style
	resCreated, created, modified time.Time
	templates                     []string
	caching                       bool
	timeAttr                      string
	sqlView                       bool
	metadataURL                   string
	attribution                   bool
	// coverage
	res           float64
	width, height int
	bands         int
	// Options.Dangling
	dangle    DanglingKind
	missingID string
}

type style struct {
	serial            int
	name, id          string
	filename          string
	ws                *workspace
	geom              geomKind
	builtin           bool
	generic           bool
	classAttr         string
	icon              string // an SVG beside the SLD, for some point styles
	created, modified time.Time
	uses              int
}

// dir is the folder of the style's files, relative to the root.
func (s *style) dir() string {
	if s.ws != nil {
		return "workspaces/" + s.ws.name + "/styles"
	}
	return "styles"
}

// prefixed is the name GeoWebCache and WMS use: ws:name for workspace styles.
func (s *style) prefixed() string {
	if s.ws != nil {
		return s.ws.name + ":" + s.name
	}
	return s.name
}

type group struct {
	serial            int
	name, id          string
	title, abstract   string
	ws                *workspace
	mode              string
	layers            []*layer
	styles            []*style // nil: the layer's default style
	bounds            bbox
	created, modified time.Time
}

type model struct {
	opt  Options
	rng  *rand.Rand
	ids  *ids
	org  string
	host string // the public host name of the GeoServer

	workspaces []*workspace
	stores     []*store
	layers     []*layer
	styles     []*style
	groups     []*group
	builtin    [4]*style // point, line, polygon, raster by geomKind
	generic    *style

	installed, end time.Time
	secIDs         []string // ids of the security services, from the first run
	settingsID     string
	wmtsID         string
	masterpw       string
	adminDigest    string

	layerNames, styleNames map[string]bool
}

// jit returns a count around mean: uniform in [mean/2, mean*3/2], at least 1.
func (m *model) jit(mean int) int {
	return max(1, mean/2+m.rng.IntN(mean+1))
}

func (m *model) pick(list []string) string { return list[m.rng.IntN(len(list))] }

// between returns a time uniformly between t and t+d.
func (m *model) after(t time.Time, d time.Duration) time.Time {
	return t.Add(time.Duration(m.rng.Int64N(int64(d)))).Truncate(time.Millisecond)
}

func buildModel(opt Options) *model {
	rng := rand.New(rand.NewPCG(uint64(opt.Seed), 0x67736361746c6f67))
	m := &model{
		opt:        opt,
		rng:        rng,
		layerNames: map[string]bool{},
		styleNames: map[string]bool{},
	}
	// The data directory was set up some time between 2016 and 2019.
	start := time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.Int64N(int64(3 * 365 * 24 * time.Hour))))
	m.ids = newIDs(rng, start)
	m.org = m.pick(orgNames)
	m.host = "gis." + strings.ToLower(strings.Fields(m.org)[0]) + ".example.org"
	m.install()

	remaining := opt.Layers
	for remaining > 0 {
		ws := m.newWorkspace()
		for n := m.jit(opt.StoresPerWorkspace); n > 0 && remaining > 0; n-- {
			st := m.newStore(ws)
			var k int
			switch st.kind {
			case storePostGIS:
				k = m.jit(opt.LayersPerStore * 6 / 5)
			case storeShapefile:
				k = m.jit(max(1, opt.LayersPerStore*3/5))
			default:
				k = 1
			}
			for range min(k, remaining) {
				m.newLayer(st)
			}
			remaining -= min(k, remaining)
		}
	}
	m.newGroups()
	m.dangle()
	m.end = m.ids.tick()
	for _, l := range m.layers {
		if l.modified.After(m.end) {
			m.end = l.modified
		}
	}
	return m
}

// install is GeoServer's first start: the security configuration, the
// global settings and the built-in styles.
func (m *model) install() {
	g := m.ids
	g.session()
	m.installed = g.tick()
	for range 20 {
		m.secIDs = append(m.secIDs, g.uid())
	}
	m.settingsID = g.next("SettingsInfoImpl")
	m.wmtsID = g.next("WMTSInfoImpl")
	const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	pw := make([]byte, 32)
	for i := range pw {
		pw[i] = alnum[m.rng.IntN(len(alnum))]
	}
	m.masterpw = string(pw)
	m.adminDigest = "digest1:" + m.randB64(48)
	for _, b := range []struct {
		name, file string
		geom       geomKind
	}{
		{"point", "default_point.sld", geomPoint},
		{"line", "default_line.sld", geomLine},
		{"polygon", "default_polygon.sld", geomPolygon},
		{"raster", "raster.sld", geomRaster},
	} {
		s := &style{serial: len(m.styles), name: b.name, filename: b.file, geom: b.geom, builtin: true, id: g.next("StyleInfoImpl"), created: m.installed}
		m.styles = append(m.styles, s)
		m.builtin[b.geom] = s
		m.styleNames[s.name] = true
	}
	m.generic = &style{serial: len(m.styles), name: "generic", filename: "default_generic.sld", builtin: true, generic: true, id: g.next("StyleInfoImpl"), created: m.installed}
	m.styles = append(m.styles, m.generic)
	m.styleNames["generic"] = true
}

func (m *model) randB64(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(m.rng.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

func (m *model) newWorkspace() *workspace {
	g := m.ids
	n := len(m.workspaces)
	name := workspaceWords[n%len(workspaceWords)]
	if n >= len(workspaceWords) {
		name += strconv.Itoa(n/len(workspaceWords) + 1)
	}
	ws := &workspace{
		serial:     n,
		name:       name,
		uri:        "http://" + m.host + "/" + name,
		created:    g.tick(),
		local:      m.rng.IntN(8) == 0,
		storeNames: map[string]bool{},
		styleNames: map[string]bool{},
		isFirst:    n == 0,
	}
	ws.id = g.next("WorkspaceInfoImpl")
	ws.nsID = g.next("NamespaceInfoImpl")
	if m.rng.IntN(3) == 0 {
		ws.modified = m.after(ws.created, 400*24*time.Hour)
	}
	if ws.local {
		ws.settingsID = g.next("SettingsInfoImpl")
		ws.wmsID = g.next("WMSInfoImpl")
		ws.wfsID = g.next("WFSInfoImpl")
	}
	m.workspaces = append(m.workspaces, ws)
	return ws
}

func (m *model) newStore(ws *workspace) *store {
	g := m.ids
	st := &store{serial: len(m.stores), ws: ws, created: g.tick()}
	switch r := m.rng.IntN(100); {
	case r < 12:
		st.kind = storeGeoTIFF
	case r < 25:
		st.kind = storeShapefile
	default:
		st.kind = storePostGIS
	}
	// A store's data is in one system and one region.
	switch {
	case st.kind == storeShapefile && m.rng.IntN(2) == 0:
		st.crs = crsList[1]
	case st.kind == storeGeoTIFF:
		st.crs = crsList[2+m.rng.IntN(len(crsList)-2)]
	case m.rng.IntN(5) < 2:
		st.crs = crsList[0]
	default:
		st.crs = crsList[2+m.rng.IntN(len(crsList)-2)]
	}
	c := st.crs
	w := 0.3 + m.rng.Float64()*2.5
	h := 0.2 + m.rng.Float64()*1.8
	x0 := c.lon[0] + m.rng.Float64()*math.Max(0, c.lon[1]-c.lon[0]-w)
	y0 := c.lat[0] + m.rng.Float64()*math.Max(0, c.lat[1]-c.lat[0]-h)
	st.region = bbox{x0, math.Min(x0+w, c.lon[1]), y0, math.Min(y0+h, c.lat[1])}

	var base string
	switch st.kind {
	case storePostGIS:
		base = m.pick([]string{"postgis", "pg", "gisdb", ws.name + "_db", "warehouse", "edit"})
		st.host = m.pick(dbHosts)
		st.database = m.pick([]string{"gis", "geodata", ws.name, "sdi", "gis_" + ws.name})
		st.schema = m.pick([]string{"public", ws.name, "data", "published", "gis"})
		st.user = m.pick([]string{"geoserver", "gs_reader", ws.name + "_ro", "gis_app"})
		st.passwd = "crypt1:" + m.randB64(24)
		st.maxConn = []int{10, 10, 20, 5, 40}[m.rng.IntN(5)]
		st.desc = "PostGIS schema " + st.schema + " of database " + st.database + " on " + st.host
	case storeShapefile:
		base = m.pick([]string{"shapes", "shp", "shapefiles", "legacy_shp", "import"})
		st.desc = "Shapefiles delivered by the " + m.pick(sources)
	case storeGeoTIFF:
		base = m.pick(topics[geomRaster])
	}
	st.name = base
	for i := 2; ws.storeNames[st.name]; i++ {
		st.name = base + "_" + strconv.Itoa(i)
	}
	ws.storeNames[st.name] = true
	switch st.kind {
	case storeShapefile:
		st.url = "file:data/" + ws.name + "/" + st.name
	case storeGeoTIFF:
		st.url = "file:data/" + ws.name + "/" + st.name + ".tif"
	}
	if st.kind == storeGeoTIFF {
		st.id = g.next("CoverageStoreInfoImpl")
	} else {
		st.id = g.next("DataStoreInfoImpl")
	}
	if m.rng.IntN(3) == 0 {
		st.desc = ""
	}
	if m.rng.IntN(2) == 0 {
		st.modified = m.after(st.created, 300*24*time.Hour)
	}
	m.stores = append(m.stores, st)
	return st
}

func (m *model) uniqueLayerName(base string) string {
	name := base
	for i := 2; m.layerNames[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	m.layerNames[name] = true
	return name
}

func (m *model) newLayer(st *store) *layer {
	g := m.ids
	l := &layer{serial: len(m.layers), st: st, crs: st.crs}
	switch {
	case st.kind == storeGeoTIFF:
		l.geom = geomRaster
	default:
		l.geom = []geomKind{geomPoint, geomPoint, geomPoint, geomLine, geomLine, geomLine, geomPolygon, geomPolygon, geomPolygon, geomPolygon}[m.rng.IntN(10)]
	}
	l.topic = m.pick(topics[l.geom])
	base := l.topic
	var qual string
	if st.kind == storeGeoTIFF {
		qual = strconv.Itoa(2005 + m.rng.IntN(20))
	} else if m.rng.IntN(10) < 7 {
		qual = m.pick(qualifiers)
	}
	if qual != "" {
		base += "_" + qual
	}
	if st.kind == storeGeoTIFF {
		base = st.name
	}
	l.name = m.uniqueLayerName(base)
	l.nativeName = l.name
	if st.kind == storePostGIS && m.rng.IntN(4) == 0 {
		l.nativeName = m.pick([]string{"t_", "v_", "tbl_", "mv_"}) + l.name
	}
	region := m.pick(regions)
	title := strings.ToUpper(l.topic[:1]) + strings.ReplaceAll(l.topic[1:], "_", " ")
	if qual != "" {
		title += " (" + qual + ")"
	}
	l.title = title
	l.abstract = title + " of the " + strings.ToLower(region) + ", maintained by the " + m.org + " (" + st.ws.name + "). Source: " + m.pick(sources) + ", updated " + m.pick(frequencies) + "."
	if m.rng.IntN(4) == 0 {
		l.abstract += "\r\n\r\nPlease report errors to the data steward. Coordinates are in " + st.crs.code + "."
	}
	kw := []string{l.topic, st.ws.name}
	if l.geom == geomRaster {
		kw = append([]string{"WCS", "GeoTIFF"}, kw...)
	} else {
		kw = append([]string{"features"}, kw...)
	}
	for range m.rng.IntN(4) {
		if k := m.pick(keywordPool); !slices.Contains(kw, k) {
			kw = append(kw, k)
		}
	}
	l.keywords = kw
	if m.rng.IntN(10) == 0 {
		l.crs = crsList[0]
	}
	// The layer covers part of its store's region.
	r := st.region
	fw, fh := 0.2+0.8*m.rng.Float64(), 0.2+0.8*m.rng.Float64()
	x0 := r.minx + m.rng.Float64()*(1-fw)*(r.maxx-r.minx)
	y0 := r.miny + m.rng.Float64()*(1-fh)*(r.maxy-r.miny)
	l.ll = bbox{x0, x0 + fw*(r.maxx-r.minx), y0, y0 + fh*(r.maxy-r.miny)}
	l.native = l.crs.project(l.ll)
	if l.geom == geomRaster {
		m.rasterGrid(l)
	}

	l.resCreated = g.tick()
	l.created = l.resCreated.Add(time.Duration(200+m.rng.IntN(5000)) * time.Millisecond)
	if m.rng.IntN(2) == 0 {
		l.modified = m.after(l.created, 500*24*time.Hour)
	}
	m.assignStyles(l)
	if l.geom != geomRaster {
		m.attributes(l)
		l.caching = m.rng.IntN(5) == 0
		if st.kind == storePostGIS && m.rng.IntN(20) == 0 {
			l.sqlView = true
		}
		if m.rng.IntN(8) == 0 {
			l.timeAttr = "valid_from"
			if !slices.ContainsFunc(l.attrs, func(a attr) bool { return a.name == "valid_from" }) {
				l.attrs = append(l.attrs, attr{"valid_from", "java.sql.Date", true})
			}
		}
		l.templates = m.templates()
	}
	if m.rng.IntN(6) == 0 {
		l.metadataURL = "https://" + m.host + "/geonetwork/srv/api/records/" + m.uuid()
	}
	l.attribution = m.rng.IntN(5) == 0
	if l.geom == geomRaster {
		l.resID = g.next("CoverageInfoImpl")
	} else {
		l.resID = g.next("FeatureTypeInfoImpl")
	}
	l.id = g.next("LayerInfoImpl")
	st.layers = append(st.layers, l)
	m.layers = append(m.layers, l)
	return l
}

func (m *model) uuid() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(m.rng.Uint32())
	}
	const hex = "0123456789abcdef"
	var s []byte
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			s = append(s, '-')
		}
		s = append(s, hex[c>>4], hex[c&15])
	}
	return string(s)
}

// rasterGrid gives a coverage a pixel size and a grid that covers its
// native envelope exactly.
func (m *model) rasterGrid(l *layer) {
	var choices []float64
	if l.crs.projected {
		choices = []float64{0.5, 1, 2, 5, 10, 25, 30, 50, 100}
	} else {
		choices = []float64{0.0001, 0.00025, 0.0005, 0.001, 0.0025}
	}
	l.res = choices[m.rng.IntN(len(choices))]
	for {
		l.width = int(math.Ceil((l.native.maxx - l.native.minx) / l.res))
		l.height = int(math.Ceil((l.native.maxy - l.native.miny) / l.res))
		if l.width <= 60000 && l.height <= 60000 {
			break
		}
		l.res *= 2
	}
	l.native.minx = math.Floor(l.native.minx/l.res) * l.res
	l.native.maxy = math.Ceil(l.native.maxy/l.res) * l.res
	l.native.maxx = l.native.minx + float64(l.width)*l.res
	l.native.miny = l.native.maxy - float64(l.height)*l.res
	if strings.Contains(l.topic, "ortho") || l.topic == "ndvi" && m.rng.IntN(2) == 0 {
		l.bands = 3
	} else {
		l.bands = 1
	}
}

// assignStyles gives l a default style and alternatives. About one style
// is made per LayersPerStyle layers of a kind; a workspace style serves
// only its workspace's layers.
func (m *model) assignStyles(l *layer) {
	var cur *style
	for i := len(m.styles) - 1; i >= 0 && i >= len(m.styles)-8; i-- {
		s := m.styles[i]
		if !s.builtin && s.geom == l.geom && (s.ws == nil || s.ws == l.st.ws) {
			cur = s
			break
		}
	}
	if cur == nil || cur.uses >= m.opt.LayersPerStyle {
		cur = m.newStyle(l)
	}
	if m.rng.IntN(8) == 0 {
		l.defStyle = m.builtin[l.geom]
	} else {
		l.defStyle = cur
		cur.uses++
	}
	// Alternatives, as an administrator adds them in the layer's
	// publishing tab.
	cands := []*style{m.builtin[l.geom], m.generic, cur}
	for i := len(m.styles) - 1; i >= 0 && len(cands) < 6; i-- {
		s := m.styles[i]
		if !s.builtin && s != cur && s.geom == l.geom && (s.ws == nil || s.ws == l.st.ws) {
			cands = append(cands, s)
		}
	}
	for n := m.rng.IntN(4); n > 0; n-- {
		s := cands[m.rng.IntN(len(cands))]
		if s != l.defStyle && !slices.Contains(l.styles, s) {
			l.styles = append(l.styles, s)
		}
	}
}

func (m *model) newStyle(l *layer) *style {
	g := m.ids
	s := &style{serial: len(m.styles), geom: l.geom, created: g.tick()}
	if m.rng.IntN(10) < 3 {
		s.ws = l.st.ws
		s.ws.hasStyles = true
	}
	var suffixes []string
	switch l.geom {
	case geomRaster:
		suffixes = []string{"ramp", "grey", "colour", "hypsometric", "classes", "rgb"}
	case geomPoint:
		suffixes = []string{"symbols", "labels", "by_type", "simple", "icons", "classified"}
	default:
		suffixes = []string{"classified", "simple", "labels", "outline", "thematic", "by_type"}
	}
	base := l.topic + "_" + m.pick(suffixes)
	s.name = base
	for i := 2; m.styleNames[s.name]; i++ {
		s.name = base + "_" + strconv.Itoa(i)
	}
	m.styleNames[s.name] = true
	s.filename = s.name + ".sld"
	if l.geom != geomRaster {
		s.classAttr = m.pick(classAttrs)
	}
	if l.geom == geomPoint && m.rng.IntN(4) == 0 {
		s.icon = s.name + ".svg"
	}
	s.id = g.next("StyleInfoImpl")
	if m.rng.IntN(2) == 0 {
		s.modified = m.after(s.created, 200*24*time.Hour)
	}
	m.styles = append(m.styles, s)
	return s
}

// attributes makes the columns of a feature type: a geometry, a few
// others, and the attributes its styles classify on.
func (m *model) attributes(l *layer) {
	shp := l.st.kind == storeShapefile
	l.multi = l.geom != geomPoint || m.rng.IntN(4) == 0
	geomName := "geom"
	switch {
	case shp:
		geomName = "the_geom"
	case m.rng.IntN(4) == 0:
		geomName = m.pick([]string{"the_geom", "wkb_geometry", "shape"})
	}
	geom := attr{geomName, l.geom.jtsBinding(l.multi), true}
	var cols []attr
	for _, i := range m.rng.Perm(len(attrPool))[:1+m.rng.IntN(4)] {
		cols = append(cols, attr{attrPool[i].name, attrPool[i].binding, true})
	}
	for _, s := range append([]*style{l.defStyle}, l.styles...) {
		if s.classAttr != "" && !slices.ContainsFunc(cols, func(a attr) bool { return a.name == s.classAttr }) {
			cols = append(cols, attr{s.classAttr, "java.lang.String", true})
		}
	}
	if shp {
		// DBF field names have at most ten characters.
		for i := range cols {
			if len(cols[i].name) > 10 {
				cols[i].name = cols[i].name[:10]
			}
		}
	}
	if m.rng.IntN(2) == 0 {
		l.attrs = append([]attr{geom}, cols...)
	} else {
		l.attrs = append(cols, geom)
	}
}

// templates picks the FreeMarker templates a vector layer has in its
// folder, as GetFeatureInfo and KML customisations leave them.
func (m *model) templates() []string {
	switch r := m.rng.IntN(100); {
	case r < 20:
		return nil
	case r < 50:
		return []string{"content.ftl"}
	case r < 75:
		return []string{"title.ftl", "description.ftl"}
	case r < 90:
		return []string{"content.ftl", "header.ftl", "footer.ftl"}
	default:
		return []string{"content.ftl", "description.ftl", "header.ftl", "title.ftl"}
	}
}

// newGroups makes about one layer group per LayersPerGroup layers; some
// belong to a workspace and group its layers only.
func (m *model) newGroups() {
	n := m.opt.Layers / m.opt.LayersPerGroup
	if n == 0 && m.opt.Layers >= 2 {
		n = 1
	}
	g := m.ids
	for i := range n {
		gr := &group{serial: i, created: g.tick()}
		var pool []*layer
		if m.rng.IntN(3) == 0 {
			gr.ws = m.workspaces[m.rng.IntN(len(m.workspaces))]
			for _, st := range m.stores {
				if st.ws == gr.ws {
					pool = append(pool, st.layers...)
				}
			}
		} else {
			// A global group mixes layers from a stretch of the catalog.
			from := m.rng.IntN(len(m.layers))
			pool = m.layers[from:min(len(m.layers), from+40)]
		}
		k := min(len(pool), 2+m.rng.IntN(7))
		for _, j := range m.rng.Perm(len(pool))[:k] {
			gr.layers = append(gr.layers, pool[j])
		}
		// Rasters go to the bottom of the stack.
		slices.SortStableFunc(gr.layers, func(a, b *layer) int {
			return int(b.geom/geomRaster) - int(a.geom/geomRaster)
		})
		for j, l := range gr.layers {
			var s *style
			if m.rng.IntN(10) < 3 {
				s = l.defStyle
				if len(l.styles) > 0 {
					s = l.styles[m.rng.IntN(len(l.styles))]
				}
			}
			gr.styles = append(gr.styles, s)
			if j == 0 {
				gr.bounds = l.ll
			} else {
				gr.bounds = gr.bounds.union(l.ll)
			}
		}
		var base string
		switch {
		case gr.ws != nil:
			gr.ws.hasGroups = true
			base = gr.ws.name + "_" + m.pick([]string{"overview", "basemap", "all", "print", "viewer"})
		default:
			base = m.pick([]string{"basemap", "overview", "background", "topo", "viewer", "print", "mobile"}) + "_" + gr.layers[0].st.ws.name
		}
		gr.name = m.uniqueLayerName(base)
		gr.title = strings.ToUpper(gr.name[:1]) + strings.ReplaceAll(gr.name[1:], "_", " ")
		gr.abstract = "Layer group combining " + strconv.Itoa(len(gr.layers)) + " layers for the " + m.org + " map viewer."
		gr.mode = []string{"SINGLE", "SINGLE", "SINGLE", "NAMED", "NAMED", "OPAQUE_CONTAINER"}[m.rng.IntN(6)]
		gr.id = g.next("LayerGroupInfoImpl")
		if m.rng.IntN(2) == 0 {
			gr.modified = m.after(gr.created, 100*24*time.Hour)
		}
		m.groups = append(m.groups, gr)
	}
}

// dangle breaks Options.Dangling references, one per chosen layer, with
// ids that were handed out but never given to an object.
func (m *model) dangle() {
	kinds := []DanglingKind{DanglingResource, DanglingStore, DanglingStyle}
	for i, j := range m.rng.Perm(len(m.layers))[:m.opt.Dangling] {
		l := m.layers[j]
		l.dangle = kinds[i%len(kinds)]
		switch {
		case l.dangle == DanglingResource && l.geom == geomRaster:
			l.missingID = m.ids.next("CoverageInfoImpl")
		case l.dangle == DanglingResource:
			l.missingID = m.ids.next("FeatureTypeInfoImpl")
		case l.dangle == DanglingStore && l.geom == geomRaster:
			l.missingID = m.ids.next("CoverageStoreInfoImpl")
		case l.dangle == DanglingStore:
			l.missingID = m.ids.next("DataStoreInfoImpl")
		default:
			l.missingID = m.ids.next("StyleInfoImpl")
		}
	}
}

func (l *layer) dir() string {
	return "workspaces/" + l.st.ws.name + "/" + l.st.name + "/" + l.name
}

func (l *layer) resourceFile() string {
	if l.geom == geomRaster {
		return "coverage.xml"
	}
	return "featuretype.xml"
}

func (m *model) danglingRefs() []DanglingRef {
	var out []DanglingRef
	for _, l := range m.layers {
		if l.dangle == "" {
			continue
		}
		p := l.dir() + "/layer.xml"
		if l.dangle == DanglingStore {
			p = l.dir() + "/" + l.resourceFile()
		}
		out = append(out, DanglingRef{Path: p, Kind: l.dangle, ID: l.missingID})
	}
	slices.SortFunc(out, func(a, b DanglingRef) int { return strings.Compare(a.Path, b.Path) })
	return out
}

func b64(p []byte) string { return base64.StdEncoding.EncodeToString(p) }
