package gendata

// Vocabulary of a regional spatial data infrastructure, from which names,
// titles and abstracts are made.

var workspaceWords = []string{
	"hydro", "transport", "cadastre", "environment", "planning", "geology",
	"utilities", "agriculture", "forestry", "census", "health", "education",
	"tourism", "energy", "telecom", "water", "heritage", "noise", "flood",
	"soil", "climate", "marine", "admin", "topo", "imagery", "landcover",
	"biodiversity", "mining", "emergency", "parks", "zoning", "traffic",
	"rail", "aviation", "ports", "waste", "airquality", "demography",
	"lidar", "elevation", "streets", "buildings", "cycling", "fisheries",
}

type geomKind int

const (
	geomPoint geomKind = iota
	geomLine
	geomPolygon
	geomRaster
)

func (g geomKind) String() string {
	return [...]string{"point", "line", "polygon", "raster"}[g]
}

// jtsBinding is the JTS class GeoServer records for a geometry column.
func (g geomKind) jtsBinding(multi bool) string {
	switch {
	case g == geomPoint && multi:
		return "org.locationtech.jts.geom.MultiPoint"
	case g == geomPoint:
		return "org.locationtech.jts.geom.Point"
	case g == geomLine && multi:
		return "org.locationtech.jts.geom.MultiLineString"
	case g == geomLine:
		return "org.locationtech.jts.geom.LineString"
	case multi:
		return "org.locationtech.jts.geom.MultiPolygon"
	}
	return "org.locationtech.jts.geom.Polygon"
}

var topics = [...][]string{
	geomPoint: {
		"bus_stops", "schools", "hospitals", "wells", "gauging_stations",
		"fire_hydrants", "trees", "poi", "addresses", "boreholes",
		"survey_points", "street_lights", "parking", "charging_stations",
		"pharmacies", "monitoring_sites", "traffic_signals", "benchmarks",
		"springs", "huts", "bird_sightings", "noise_sensors", "accidents",
	},
	geomLine: {
		"roads", "railways", "rivers", "streams", "contours", "power_lines",
		"pipelines", "bike_lanes", "trails", "ferry_routes", "sewer_mains",
		"water_mains", "fences", "coastline", "bus_routes", "tram_lines",
		"gas_mains", "fibre_routes", "ditches", "ski_runs",
	},
	geomPolygon: {
		"parcels", "buildings", "landuse", "lakes", "admin_boundaries",
		"municipalities", "zoning_districts", "flood_zones", "protected_areas",
		"forests", "wetlands", "soil_units", "catchments", "census_tracts",
		"postcodes", "school_districts", "parks", "geology_units",
		"noise_zones", "vineyards", "quarries", "glaciers",
	},
	geomRaster: {
		"dem", "ortho", "hillshade", "slope", "landcover_grid", "ndvi",
		"precipitation", "temperature", "lidar_dsm", "lidar_dtm",
		"flood_depth", "noise_map", "population_density", "snow_cover",
	},
}

var qualifiers = []string{
	"north", "south", "east", "west", "central", "coastal", "upland",
	"metro", "rural", "10k", "25k", "50k", "100k", "current", "hist",
	"draft", "v2", "v3", "simplified", "detailed", "public", "internal",
}

var regions = []string{
	"Northern district", "Southern district", "Eastern valley", "Western hills",
	"Metropolitan area", "Coastal strip", "Upper basin", "Lower basin",
	"Lake region", "Highlands", "Capital region", "Border region",
}

var sources = []string{
	"field survey", "aerial photogrammetry", "LiDAR survey", "municipal registry",
	"national mapping agency", "OpenStreetMap extract", "satellite imagery",
	"regional statistics office", "utility operator", "digitised paper maps",
}

var frequencies = []string{"daily", "weekly", "monthly", "quarterly", "yearly", "on demand", "irregularly"}

var keywordPool = []string{
	"features", "infoMapAccessService", "open data", "INSPIRE", "reference data",
	"WMS", "WFS", "vector", "thematic", "authoritative", "basemap", "analysis",
	"public", "restricted", "monitoring", "planning", "infrastructure",
}

var orgNames = []string{
	"Regional Geodata Office", "Lakeside County GIS", "Valley Water Authority",
	"Metro Planning Department", "Northern Province Survey", "City Infrastructure Services",
}

var firstNames = []string{"Anna", "Marco", "Ines", "Tomas", "Leila", "Jonas", "Sofia", "Karim", "Elena", "Pavel"}
var lastNames = []string{"Keller", "Rossi", "Novak", "Haddad", "Lindqvist", "Moreau", "Costa", "Berg", "Ivanova", "Okafor"}

var dbHosts = []string{
	"pg-gis-01.db.internal", "pg-gis-02.db.internal", "postgis.prod.internal",
	"10.20.30.41", "10.20.30.42", "gisdb.lan", "pg-replica.db.internal",
}

// attrSpec is a column a generated table may have: its name and the Java
// binding GeoServer records.
type attrSpec struct{ name, binding string }

var attrPool = []attrSpec{
	{"name", "java.lang.String"},
	{"code", "java.lang.String"},
	{"status", "java.lang.String"},
	{"source", "java.lang.String"},
	{"remarks", "java.lang.String"},
	{"owner", "java.lang.String"},
	{"municipality", "java.lang.String"},
	{"area_m2", "java.lang.Double"},
	{"length_m", "java.lang.Double"},
	{"elevation", "java.lang.Double"},
	{"population", "java.lang.Long"},
	{"capacity", "java.lang.Integer"},
	{"year_built", "java.lang.Integer"},
	{"osm_id", "java.lang.Long"},
	{"valid_from", "java.sql.Date"},
	{"valid_to", "java.sql.Date"},
	{"created_at", "java.sql.Timestamp"},
	{"updated_at", "java.sql.Timestamp"},
	{"verified", "java.lang.Boolean"},
	{"cost", "java.math.BigDecimal"},
}

// classAttrs are the attributes styles classify on; every layer that uses a
// classifying style has the style's attribute.
var classAttrs = []string{"category", "type", "class", "kind"}

var classValues = []string{
	"primary", "secondary", "tertiary", "residential", "commercial", "industrial",
	"agricultural", "natural", "public", "private", "planned", "existing",
	"abandoned", "seasonal", "permanent", "protected",
}

var markNames = []string{"circle", "square", "triangle", "star", "cross", "x"}
