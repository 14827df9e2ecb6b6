package gendata

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Renderers of the server configuration: global and service settings,
// GeoWebCache, security, and the log.

func (m *model) contact(w *xw, ws *workspace) {
	r := m.objRand(randLog, 0)
	if ws != nil {
		r = m.objRand(randLog, 1+ws.serial)
	}
	person := firstNames[r.IntN(len(firstNames))] + " " + lastNames[r.IntN(len(lastNames))]
	w.open("contact")
	if ws != nil {
		w.leaf("id", "contact")
	}
	w.leaf("addressCity", "Lakeside")
	w.leaf("addressCountry", "Freedonia")
	w.leaf("addressType", "Work")
	w.leaf("contactEmail", "gis@"+strings.TrimPrefix(m.host, "gis."))
	w.leaf("contactOrganization", m.org)
	w.leaf("contactPerson", person)
	w.leaf("contactPosition", "GIS administrator")
	w.leaf("onlineResource", "https://"+m.host+"/")
	w.leaf("welcome", "Maps and data of the "+m.org+", published with open standards.")
	w.close("contact")
}

func (m *model) settingsBody(w *xw, id string, ws *workspace) {
	w.leaf("id", id)
	if ws != nil {
		// settings.xml embeds its workspace whole.
		w.open("workspace")
		w.leaf("id", ws.id)
		w.leaf("name", ws.name)
		w.bool("isolated", false)
		w.date("dateCreated", ws.created)
		w.close("workspace")
	}
	m.contact(w, ws)
	w.leaf("charset", "UTF-8")
	w.int("numDecimals", 8)
	w.leaf("onlineResource", "http://geoserver.org")
	if ws == nil {
		w.leaf("proxyBaseUrl", "https://"+m.host+"/geoserver")
	}
	w.bool("verbose", false)
	w.bool("verboseExceptions", false)
	w.open("metadata")
	w.open("map")
	w.open("entry")
	w.leaf("string", "quietOnNotFound")
	w.bool("boolean", false)
	w.close("entry")
	w.close("map")
	w.close("metadata")
	w.bool("localWorkspaceIncludesPrefix", false)
	w.bool("showCreatedTimeColumnsInAdminList", false)
	w.bool("showModifiedTimeColumnsInAdminList", false)
	w.bool("useHeadersProxyURL", false)
}

func (m *model) renderGlobal(b []byte) []byte {
	w := &xw{b: b}
	w.open("global")
	w.open("settings")
	m.settingsBody(w, m.settingsID, nil)
	w.close("settings")
	w.open("jai")
	w.bool("allowInterpolation", false)
	w.bool("recycling", false)
	w.int("tilePriority", 5)
	w.int("tileThreads", 7)
	w.leaf("memoryCapacity", "0.5")
	w.leaf("memoryThreshold", "0.75")
	w.bool("imageIOCache", false)
	w.bool("pngAcceleration", true)
	w.bool("jpegAcceleration", true)
	w.bool("allowNativeMosaic", false)
	w.bool("allowNativeWarp", false)
	w.open("jaiext")
	w.strings("jaiExtOperations", []string{"Affine", "BandCombine", "BandMerge", "BandSelect", "Binarize",
		"Border", "ColorConvert", "Crop", "ErrorDiffusion", "Format", "ImageFunction", "Lookup", "Mosaic",
		"Null", "OrderedDither", "Rescale", "Scale", "Stats", "Translate", "Warp", "algebric", "operationConst"},
		"class", "sorted-set")
	w.close("jaiext")
	w.close("jai")
	w.open("coverageAccess")
	w.int("maxPoolSize", 10)
	w.int("corePoolSize", 5)
	w.int("keepAliveTime", 30000)
	w.leaf("queueType", "UNBOUNDED")
	w.int("imageIOCacheThreshold", 10240)
	w.close("coverageAccess")
	w.open("metadata")
	w.entry("logRequestsEnabled", "false")
	w.close("metadata")
	// Every catalog change bumps the update sequence.
	w.int("updateSequence", len(m.layers)*2+len(m.stores)+len(m.styles)+len(m.groups)+7)
	w.int("featureTypeCacheSize", 0)
	w.bool("globalServices", true)
	w.int("xmlPostRequestLogBufferSize", 1024)
	w.leaf("webUIMode", "DEFAULT")
	w.close("global")
	return w.b
}

func (m *model) renderSettings(b []byte, ws *workspace) []byte {
	w := &xw{b: b}
	w.open("settings")
	m.settingsBody(w, ws.settingsID, ws)
	w.close("settings")
	return w.b
}

func renderLogging(b []byte) []byte {
	w := &xw{b: b}
	w.open("logging")
	w.leaf("level", "DEFAULT_LOGGING")
	w.leaf("location", "logs/geoserver.log")
	w.bool("stdOutLogging", true)
	w.close("logging")
	return w.b
}

type service struct {
	root, name, title, abstract string
	versions                    []string
}

var services = map[string]service{
	"wms":  {"wms", "WMS", "Web Map Service", "Maps of the catalogue as images (PNG, JPEG, GeoTIFF), KML, SVG and PDF, styled with SLD.", []string{"1.1.1", "1.3.0"}},
	"wfs":  {"wfs", "WFS", "Web Feature Service", "Vector data of the catalogue as GML, GeoJSON, shapefile and CSV, with transactions.", []string{"1.0.0", "1.1.0", "2.0.0"}},
	"wcs":  {"wcs", "WCS", "Web Coverage Service", "Raster data of the catalogue, subset and reprojected on request.", []string{"1.0.0", "1.1.1", "2.0.1"}},
	"wmts": {"wmts", "WMTS", "Web Map Tile Service", "Cached map tiles of the catalogue.", []string{"1.0.0"}},
}

// renderService writes wms.xml, wfs.xml, wcs.xml or wmts.xml, global (ws
// nil, id the service's) or a workspace's override.
func (m *model) renderService(b []byte, key, id string, ws *workspace) []byte {
	s := services[key]
	w := &xw{b: b}
	w.open(s.root)
	w.leaf("id", id)
	if ws != nil {
		w.ref("workspace", ws.id)
	}
	w.bool("enabled", true)
	w.leaf("name", s.name)
	title := m.org + " " + s.title
	if ws != nil {
		title += " (" + ws.name + ")"
	}
	w.leaf("title", title)
	if key != "wmts" {
		w.empty("internationalTitle")
	}
	w.leaf("maintainer", "https://"+m.host+"/contact")
	w.leaf("abstrct", s.abstract)
	if key != "wmts" {
		w.empty("internationalAbstract")
	}
	w.leaf("accessConstraints", "NONE")
	w.leaf("fees", "NONE")
	w.open("versions")
	for _, v := range s.versions {
		w.open("org.geotools.util.Version")
		w.leaf("version", v)
		w.close("org.geotools.util.Version")
	}
	w.close("versions")
	w.strings("keywords", []string{s.name, "GEOSERVER"})
	if key != "wmts" {
		w.empty("metadataLink")
	}
	w.bool("citeCompliant", false)
	w.leaf("onlineResource", "https://"+m.host+"/geoserver")
	w.leaf("schemaBaseURL", "http://schemas.opengis.net")
	w.bool("verbose", false)
	switch key {
	case "wms":
		w.open("metadata")
		for _, kv := range [][2]string{
			{"disableDatelineWrappingHeuristic", "false"}, {"kmlSuperoverlayMode", "auto"},
			{"kmlReflectorMode", "refresh"}, {"svgAntiAlias", "true"}, {"rootLayerInCapabilities", "true"},
			{"kmlPlacemark", "false"}, {"kmlKmscore", "40"}, {"mapWrapping", "true"},
			{"pngCompression", "25"}, {"jpegCompression", "25"}, {"advancedProjectionDensification", "false"},
			{"advancedProjectionHandling", "true"}, {"kmlAttr", "true"}, {"svgRenderer", "Batik"},
			{"MarkFactoryList", ""}, {"scalehintMapunitsPixel", "false"},
		} {
			w.entry(kv[0], kv[1])
		}
		w.close("metadata")
		w.open("watermark")
		w.bool("enabled", false)
		w.leaf("position", "BOT_RIGHT")
		w.int("transparency", 0)
		w.close("watermark")
		w.leaf("interpolation", "Nearest")
		w.bool("getFeatureInfoMimeTypeCheckingEnabled", false)
		w.bool("getMapMimeTypeCheckingEnabled", false)
		w.bool("dynamicStylingDisabled", false)
		w.bool("featuresReprojectionDisabled", false)
		w.int("maxBuffer", 25)
		w.int("maxRequestMemory", 65536)
		w.int("maxRenderingTime", 60)
		w.int("maxRenderingErrors", 1000)
		w.empty("internationalRootLayerTitle")
		w.empty("internationalRootLayerAbstract")
		w.open("cacheConfiguration")
		w.bool("enabled", false)
		w.int("maxEntries", 1000)
		w.int("maxEntrySize", 51200)
		w.close("cacheConfiguration")
	case "wfs":
		w.open("metadata")
		w.entry("SHAPE-ZIP_DEFAULT_PRJ_IS_ESRI", "false")
		w.close("metadata")
		w.open("gml")
		for _, g := range [][3]string{{"V_11", "URN", "false"}, {"V_20", "URN2", "false"}, {"V_10", "XML", "true"}} {
			w.open("entry")
			w.leaf("version", g[0])
			w.open("gml")
			w.leaf("srsNameStyle", g[1])
			w.leaf("overrideGMLAttributes", g[2])
			w.close("gml")
			w.close("entry")
		}
		w.close("gml")
		w.leaf("serviceLevel", "COMPLETE")
		w.int("maxFeatures", 1000000)
		w.bool("featureBounding", false)
		w.bool("canonicalSchemaLocation", false)
		w.bool("encodeFeatureMember", false)
		w.bool("hitsIgnoreMaxFeatures", false)
		w.bool("includeWFSRequestDumpFile", false)
	case "wcs":
		w.bool("gmlPrefixing", false)
		w.bool("latLon", false)
		w.int("maxInputMemory", 0)
		w.int("maxOutputMemory", 0)
	}
	w.close(s.root)
	return w.b
}

func renderGWCGS(b []byte) []byte {
	w := &xw{b: b}
	w.open("GeoServerGWCConfig")
	w.leaf("version", "1.1.0")
	w.bool("directWMSIntegrationEnabled", false)
	w.bool("requireTiledParameter", true)
	w.bool("WMSCEnabled", true)
	w.bool("TMSEnabled", true)
	w.bool("securityEnabled", false)
	w.bool("innerCachingEnabled", false)
	w.bool("persistenceEnabled", true)
	w.leaf("cacheProviderClass", "class org.geowebcache.storage.blobstore.memory.guava.GuavaCacheProvider")
	w.open("cacheConfigurations")
	w.open("entry")
	w.leaf("string", "class org.geowebcache.storage.blobstore.memory.guava.GuavaCacheProvider")
	w.open("InnerCacheConfiguration")
	w.int("hardMemoryLimit", 16)
	w.leaf("policy", "NULL")
	w.int("concurrencyLevel", 4)
	w.int("evictionTime", 120)
	w.close("InnerCacheConfiguration")
	w.close("entry")
	w.close("cacheConfigurations")
	w.bool("cacheLayersByDefault", true)
	w.bool("cacheNonDefaultStyles", true)
	w.int("metaTilingX", 4)
	w.int("metaTilingY", 4)
	w.int("gutter", 0)
	w.strings("defaultCachingGridSetIds", []string{"EPSG:4326", "EPSG:900913"})
	w.strings("defaultCoverageCacheFormats", []string{"image/jpeg"})
	w.strings("defaultVectorCacheFormats", []string{"image/png"})
	w.strings("defaultOtherCacheFormats", []string{"image/png", "image/jpeg"})
	w.close("GeoServerGWCConfig")
	return w.b
}

// renderGeoWebCache writes gwc/geowebcache.xml: service information and
// the custom gridsets the tile layers of ETRS89 UTM layers use.
func (m *model) renderGeoWebCache(b []byte) []byte {
	w := &xw{b: b}
	w.b = append(w.b, `<?xml version="1.0" encoding="utf-8"?>`...)
	w.open("gwcConfiguration", "xmlns:xsi", "http://www.w3.org/2001/XMLSchema-instance",
		"xmlns", "http://geowebcache.org/schema/1.8.0",
		"xsi:schemaLocation", "http://geowebcache.org/schema/1.8.0 http://geowebcache.org/schema/1.8.0/geowebcache.xsd")
	w.leaf("version", "1.8.0")
	w.int("backendTimeout", 120)
	w.open("serviceInformation")
	w.leaf("title", m.org+" tile cache")
	w.leaf("description", "Cached tiles of the layers of the "+m.org+".")
	w.strings("keywords", []string{"WMS", "WMTS", "TMS", "GEOWEBCACHE"})
	w.open("serviceProvider")
	w.leaf("providerName", m.org)
	w.leaf("providerSite", "https://"+m.host+"/")
	w.close("serviceProvider")
	w.leaf("fees", "NONE")
	w.leaf("accessConstraints", "NONE")
	w.close("serviceInformation")
	w.open("gridSets")
	for _, z := range []int{31, 32, 33} {
		name := "ETRS89_UTM" + strconv.Itoa(z) + "N"
		w.open("gridSet")
		w.leaf("name", name)
		w.leaf("description", "ETRS89 / UTM zone "+strconv.Itoa(z)+"N, 256 pixel tiles")
		w.open("srs")
		w.int("number", 25800+z)
		w.close("srs")
		w.open("extent")
		w.open("coords")
		for _, v := range []float64{-1877994.66, 3932281.56, 836715.13, 9440581.95} {
			w.leaf("double", jd(v))
		}
		w.close("coords")
		w.close("extent")
		w.bool("alignTopLeft", false)
		w.open("resolutions")
		res := 4000.0
		for range 16 {
			w.leaf("double", jd(res))
			res /= 2
		}
		w.close("resolutions")
		w.leaf("metersPerUnit", "1.0")
		w.leaf("pixelSize", "2.8E-4")
		w.open("scaleNames")
		for i := range 16 {
			w.leaf("string", name+":"+strconv.Itoa(i))
		}
		w.close("scaleNames")
		w.int("tileHeight", 256)
		w.int("tileWidth", 256)
		w.bool("yCoordinateFirst", false)
		w.close("gridSet")
	}
	w.close("gridSets")
	w.empty("layers")
	w.close("gwcConfiguration")
	w.b = append(w.b, '\n')
	return w.b
}

// Security. The layout and element names are those of a data directory
// GeoServer initialised; the ids, the master password and the admin
// password digest are generated.

type secFile struct {
	path   string
	render func(m *model, b []byte) []byte
}

func (m *model) secConfig(root, name, class string, extra ...[2]string) func(*model, []byte) []byte {
	return func(m *model, b []byte) []byte {
		w := &xw{b: b}
		w.open(root)
		w.leaf("id", m.secIDs[secIndex(root+"/"+name)])
		w.leaf("name", name)
		w.leaf("className", class)
		for _, kv := range extra {
			w.leaf(kv[0], kv[1])
		}
		w.close(root)
		return w.b
	}
}

// secIndex gives each security service a distinct id from m.secIDs.
func secIndex(key string) int {
	for i, k := range secKeys {
		if k == key {
			return i
		}
	}
	panic("gendata: unknown security service " + key)
}

var secKeys = []string{
	"urlProvider/default", "passwordPolicy/default", "passwordPolicy/master", "roleService/default",
	"userGroupService/default", "basicAuthentication/basic", "usernamePasswordFilter/form",
	"contextPersistence/contextAsc", "contextPersistence/contextNoAsc", "anonymousAuthentication/anonymous",
	"rememberMeAuthentication/rememberme", "securityInterceptor/interceptor",
	"securityInterceptor/restInterceptor", "logoutFilter/formLogout", "exceptionTranslation/exception",
	"usernamePassword/default", "roleFilter/roleFilter", "sslFilter/sslFilter",
}

func (m *model) securityFiles() []secFile {
	const sf = "org.geoserver.security.filter."
	return []secFile{
		{"security/config.xml", func(m *model, b []byte) []byte { return append(b, securityConfig...) }},
		{"security/masterpw.xml", func(m *model, b []byte) []byte {
			return append(b, "<masterPassword>\n  <providerName>default</providerName>\n</masterPassword>"...)
		}},
		{"security/masterpw/default/config.xml", m.secConfig("urlProvider", "default", "org.geoserver.security.password.URLMasterPasswordProvider",
			[2]string{"readOnly", "false"}, [2]string{"url", "file:passwd"}, [2]string{"encrypting", "true"})},
		{"security/masterpw/default/passwd", func(m *model, b []byte) []byte { return append(b, m.masterpw...) }},
		{"security/pwpolicy/default/config.xml", m.secConfig("passwordPolicy", "default", "org.geoserver.security.validation.PasswordValidatorImpl",
			[2]string{"uppercaseRequired", "false"}, [2]string{"lowercaseRequired", "false"}, [2]string{"digitRequired", "false"},
			[2]string{"minLength", "0"}, [2]string{"maxLength", "-1"})},
		{"security/pwpolicy/master/config.xml", m.secConfig("passwordPolicy", "master", "org.geoserver.security.validation.PasswordValidatorImpl",
			[2]string{"uppercaseRequired", "false"}, [2]string{"lowercaseRequired", "false"}, [2]string{"digitRequired", "false"},
			[2]string{"minLength", "8"}, [2]string{"maxLength", "-1"})},
		{"security/role/default/config.xml", m.secConfig("roleService", "default", "org.geoserver.security.xml.XMLRoleService",
			[2]string{"fileName", "roles.xml"}, [2]string{"checkInterval", "10000"}, [2]string{"validating", "true"},
			[2]string{"adminRoleName", "ADMIN"}, [2]string{"groupAdminRoleName", "GROUP_ADMIN"})},
		{"security/role/default/roles.xml", func(m *model, b []byte) []byte { return append(b, m.rolesXML()...) }},
		{"security/role/default/roles.xsd", func(m *model, b []byte) []byte { return append(b, rolesXSD...) }},
		{"security/usergroup/default/config.xml", m.secConfig("userGroupService", "default", "org.geoserver.security.xml.XMLUserGroupService",
			[2]string{"fileName", "users.xml"}, [2]string{"checkInterval", "10000"}, [2]string{"validating", "true"},
			[2]string{"passwordEncoderName", "digestPasswordEncoder"}, [2]string{"passwordPolicyName", "default"})},
		{"security/usergroup/default/users.xml", func(m *model, b []byte) []byte { return append(b, m.usersXML()...) }},
		{"security/usergroup/default/users.xsd", func(m *model, b []byte) []byte { return append(b, usersXSD...) }},
		{"security/auth/default/config.xml", m.secConfig("usernamePassword", "default", "org.geoserver.security.auth.UsernamePasswordAuthenticationProvider",
			[2]string{"userGroupServiceName", "default"})},
		{"security/filter/anonymous/config.xml", m.secConfig("anonymousAuthentication", "anonymous", sf+"GeoServerAnonymousAuthenticationFilter")},
		{"security/filter/basic/config.xml", m.secConfig("basicAuthentication", "basic", sf+"GeoServerBasicAuthenticationFilter",
			[2]string{"useRememberMe", "true"})},
		{"security/filter/contextAsc/config.xml", m.secConfig("contextPersistence", "contextAsc", sf+"GeoServerSecurityContextPersistenceFilter",
			[2]string{"allowSessionCreation", "true"})},
		{"security/filter/contextNoAsc/config.xml", m.secConfig("contextPersistence", "contextNoAsc", sf+"GeoServerSecurityContextPersistenceFilter",
			[2]string{"allowSessionCreation", "false"})},
		{"security/filter/exception/config.xml", m.secConfig("exceptionTranslation", "exception", sf+"GeoServerExceptionTranslationFilter")},
		{"security/filter/form/config.xml", m.secConfig("usernamePasswordFilter", "form", sf+"GeoServerUserNamePasswordAuthenticationFilter",
			[2]string{"passwordParameterName", "password"}, [2]string{"usernameParameterName", "username"})},
		{"security/filter/formLogout/config.xml", m.secConfig("logoutFilter", "formLogout", sf+"GeoServerLogoutFilter",
			[2]string{"redirectURL", "/web/"})},
		{"security/filter/interceptor/config.xml", m.secConfig("securityInterceptor", "interceptor", sf+"GeoServerSecurityInterceptorFilter",
			[2]string{"allowIfAllAbstainDecisions", "false"}, [2]string{"securityMetadataSource", "geoserverMetadataSource"})},
		{"security/filter/rememberme/config.xml", m.secConfig("rememberMeAuthentication", "rememberme", sf+"GeoServerRememberMeAuthenticationFilter")},
		{"security/filter/restInterceptor/config.xml", m.secConfig("securityInterceptor", "restInterceptor", sf+"GeoServerSecurityInterceptorFilter",
			[2]string{"allowIfAllAbstainDecisions", "false"}, [2]string{"securityMetadataSource", "restFilterDefinitionMap"})},
		{"security/filter/roleFilter/config.xml", m.secConfig("roleFilter", "roleFilter", sf+"GeoServerRoleFilter",
			[2]string{"httpResponseHeaderAttrForIncludedRoles", "roles"}, [2]string{"roleConverterName", "roleConverter"})},
		{"security/filter/sslFilter/config.xml", m.secConfig("sslFilter", "sslFilter", sf+"GeoServerSSLFilter",
			[2]string{"sslPort", "443"})},
		{"security/layers.properties", func(m *model, b []byte) []byte { return append(b, m.layersProperties()...) }},
		{"security/services.properties", func(m *model, b []byte) []byte { return append(b, servicesProperties...) }},
		{"security/rest.properties", func(m *model, b []byte) []byte { return append(b, restProperties...) }},
	}
}

// editors are the workspaces whose data an editor role may change.
func (m *model) editors() []*workspace {
	var out []*workspace
	for i, ws := range m.workspaces {
		if i%4 == 1 {
			out = append(out, ws)
		}
	}
	return out
}

func (m *model) rolesXML() string {
	var s strings.Builder
	s.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<roleRegistry version=\"1.0\" xmlns=\"http://www.geoserver.org/security/roles\">\n    <roleList>\n        <role id=\"ADMIN\"/>\n        <role id=\"GROUP_ADMIN\"/>\n")
	for _, ws := range m.editors() {
		fmt.Fprintf(&s, "        <role id=\"ROLE_%s_EDITOR\"/>\n", strings.ToUpper(ws.name))
	}
	s.WriteString("    </roleList>\n    <userList>\n        <userRoles username=\"admin\">\n            <roleRef roleID=\"ADMIN\"/>\n        </userRoles>\n")
	for _, ws := range m.editors() {
		fmt.Fprintf(&s, "        <userRoles username=\"%s_editor\">\n            <roleRef roleID=\"ROLE_%s_EDITOR\"/>\n        </userRoles>\n", ws.name, strings.ToUpper(ws.name))
	}
	s.WriteString("    </userList>\n    <groupList/>\n</roleRegistry>\n")
	return s.String()
}

func (m *model) usersXML() string {
	var s strings.Builder
	s.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<userRegistry version=\"1.0\" xmlns=\"http://www.geoserver.org/security/users\">\n    <users>\n")
	fmt.Fprintf(&s, "        <user enabled=\"true\" name=\"admin\" password=\"%s\"/>\n", m.adminDigest)
	r := m.objRand(randLog, 1<<20)
	for _, ws := range m.editors() {
		pw := make([]byte, 48)
		for i := range pw {
			pw[i] = byte(r.Uint32())
		}
		fmt.Fprintf(&s, "        <user enabled=\"true\" name=\"%s_editor\" password=\"digest1:%s\"/>\n", ws.name, b64(pw))
	}
	s.WriteString("    </users>\n    <groups/>\n</userRegistry>\n")
	return s.String()
}

func (m *model) layersProperties() string {
	var s strings.Builder
	s.WriteString("# Data access rules: workspace.layer.mode=role[,role...]\n# mode is r (read), w (write) or a (admin); * matches any workspace, layer or role.\n*.*.r=*\n*.*.w=ADMIN,GROUP_ADMIN\n")
	for _, ws := range m.editors() {
		fmt.Fprintf(&s, "%s.*.w=ADMIN,ROLE_%s_EDITOR\n", ws.name, strings.ToUpper(ws.name))
	}
	s.WriteString("mode=HIDE\n")
	return s.String()
}

const servicesProperties = `# Service access rules: service[.operation]=role[,role...]
# A service or operation not listed here is open to everybody.
wfs.Transaction=ADMIN,GROUP_ADMIN
wfs.DropStoredQuery=ADMIN,GROUP_ADMIN
wfs.CreateStoredQuery=ADMIN,GROUP_ADMIN
`

const restProperties = `# REST access rules: ant path pattern;HTTP methods=role[,role...]
/**;GET,HEAD,OPTIONS=ADMIN
/**;POST,DELETE,PUT=ADMIN
`

const securityConfig = `<security>
  <roleServiceName>default</roleServiceName>
  <authProviderNames>
    <string>default</string>
  </authProviderNames>
  <configPasswordEncrypterName>pbePasswordEncoder</configPasswordEncrypterName>
  <encryptingUrlParams>false</encryptingUrlParams>
  <filterChain>
    <filters name="web" class="org.geoserver.security.HtmlLoginFilterChain" interceptorName="interceptor" exceptionTranslationName="exception" path="/web/**,/gwc/rest/web/**,/" disabled="false" allowSessionCreation="true" ssl="false" matchHTTPMethod="false">
      <filter>rememberme</filter>
      <filter>form</filter>
      <filter>anonymous</filter>
    </filters>
    <filters name="webLogin" class="org.geoserver.security.ConstantFilterChain" path="/j_spring_security_check,/j_spring_security_check/" disabled="false" allowSessionCreation="true" ssl="false" matchHTTPMethod="false">
      <filter>form</filter>
    </filters>
    <filters name="webLogout" class="org.geoserver.security.LogoutFilterChain" path="/j_spring_security_logout,/j_spring_security_logout/" disabled="false" allowSessionCreation="false" ssl="false" matchHTTPMethod="false">
      <filter>formLogout</filter>
    </filters>
    <filters name="rest" class="org.geoserver.security.ServiceLoginFilterChain" interceptorName="restInterceptor" exceptionTranslationName="exception" path="/rest.*,/rest/**" disabled="false" allowSessionCreation="false" ssl="false" matchHTTPMethod="false">
      <filter>basic</filter>
      <filter>anonymous</filter>
    </filters>
    <filters name="gwc" class="org.geoserver.security.ServiceLoginFilterChain" interceptorName="restInterceptor" exceptionTranslationName="exception" path="/gwc/rest.*,/gwc/rest/**" disabled="false" allowSessionCreation="false" ssl="false" matchHTTPMethod="false">
      <filter>basic</filter>
    </filters>
    <filters name="default" class="org.geoserver.security.ServiceLoginFilterChain" interceptorName="interceptor" exceptionTranslationName="exception" path="/**" disabled="false" allowSessionCreation="false" ssl="false" matchHTTPMethod="false">
      <filter>basic</filter>
      <filter>anonymous</filter>
    </filters>
  </filterChain>
  <rememberMeService>
    <className>org.geoserver.security.rememberme.GeoServerTokenBasedRememberMeServices</className>
    <key>geoserver</key>
  </rememberMeService>
</security>
`

// usersXSD and rolesXSD are schemas for users.xml and roles.xml, which the
// XML user/group and role services validate against ("validating" in
// their config.xml): the element and attribute structure GeoServer reads,
// written for this generator.
const usersXSD = `<?xml version="1.0" encoding="UTF-8"?>
<schema xmlns="http://www.w3.org/2001/XMLSchema"
        xmlns:gsu="http://www.geoserver.org/security/users"
        targetNamespace="http://www.geoserver.org/security/users"
        elementFormDefault="qualified">

  <element name="userRegistry" type="gsu:UserRegistryType">
    <key name="UserKey">
      <selector xpath="gsu:users/gsu:user"/>
      <field xpath="@name"/>
    </key>
    <key name="GroupKey">
      <selector xpath="gsu:groups/gsu:group"/>
      <field xpath="@name"/>
    </key>
    <keyref name="MemberUserKey" refer="gsu:UserKey">
      <selector xpath="gsu:groups/gsu:group/gsu:member"/>
      <field xpath="@username"/>
    </keyref>
  </element>

  <complexType name="UserRegistryType">
    <sequence>
      <element name="users" type="gsu:UsersType"/>
      <element name="groups" type="gsu:GroupsType"/>
    </sequence>
    <attribute name="version" type="gsu:VersionType" use="required"/>
  </complexType>

  <complexType name="UsersType">
    <sequence>
      <element name="user" type="gsu:UserType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
  </complexType>

  <complexType name="UserType">
    <sequence>
      <element name="property" type="gsu:PropertyType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
    <attribute name="name" type="string" use="required"/>
    <attribute name="password" type="string" use="optional"/>
    <attribute name="enabled" type="boolean" use="optional" default="true"/>
  </complexType>

  <complexType name="GroupsType">
    <sequence>
      <element name="group" type="gsu:GroupType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
  </complexType>

  <complexType name="GroupType">
    <sequence>
      <element name="member" type="gsu:MemberType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
    <attribute name="name" type="string" use="required"/>
    <attribute name="enabled" type="boolean" use="optional" default="true"/>
  </complexType>

  <complexType name="MemberType">
    <attribute name="username" type="string" use="required"/>
  </complexType>

  <complexType name="PropertyType">
    <simpleContent>
      <extension base="string">
        <attribute name="name" type="string" use="required"/>
      </extension>
    </simpleContent>
  </complexType>

  <simpleType name="VersionType">
    <restriction base="string">
      <enumeration value="1.0"/>
    </restriction>
  </simpleType>
</schema>
`

const rolesXSD = `<?xml version="1.0" encoding="UTF-8"?>
<schema xmlns="http://www.w3.org/2001/XMLSchema"
        xmlns:gsr="http://www.geoserver.org/security/roles"
        targetNamespace="http://www.geoserver.org/security/roles"
        elementFormDefault="qualified">

  <element name="roleRegistry" type="gsr:RoleRegistryType">
    <key name="RoleKey">
      <selector xpath="gsr:roleList/gsr:role"/>
      <field xpath="@id"/>
    </key>
    <keyref name="ParentRoleKey" refer="gsr:RoleKey">
      <selector xpath="gsr:roleList/gsr:role"/>
      <field xpath="@parentID"/>
    </keyref>
    <keyref name="UserRoleKey" refer="gsr:RoleKey">
      <selector xpath="gsr:userList/gsr:userRoles/gsr:roleRef"/>
      <field xpath="@roleID"/>
    </keyref>
    <keyref name="GroupRoleKey" refer="gsr:RoleKey">
      <selector xpath="gsr:groupList/gsr:groupRoles/gsr:roleRef"/>
      <field xpath="@roleID"/>
    </keyref>
  </element>

  <complexType name="RoleRegistryType">
    <sequence>
      <element name="roleList" type="gsr:RoleListType"/>
      <element name="userList" type="gsr:UserRolesListType"/>
      <element name="groupList" type="gsr:GroupRolesListType"/>
    </sequence>
    <attribute name="version" type="gsr:VersionType" use="required"/>
  </complexType>

  <complexType name="RoleListType">
    <sequence>
      <element name="role" type="gsr:RoleType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
  </complexType>

  <complexType name="RoleType">
    <sequence>
      <element name="property" type="gsr:PropertyType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
    <attribute name="id" type="string" use="required"/>
    <attribute name="parentID" type="string" use="optional"/>
  </complexType>

  <complexType name="UserRolesListType">
    <sequence>
      <element name="userRoles" type="gsr:UserRolesType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
  </complexType>

  <complexType name="UserRolesType">
    <sequence>
      <element name="roleRef" type="gsr:RoleRefType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
    <attribute name="username" type="string" use="required"/>
  </complexType>

  <complexType name="GroupRolesListType">
    <sequence>
      <element name="groupRoles" type="gsr:GroupRolesType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
  </complexType>

  <complexType name="GroupRolesType">
    <sequence>
      <element name="roleRef" type="gsr:RoleRefType" minOccurs="0" maxOccurs="unbounded"/>
    </sequence>
    <attribute name="groupname" type="string" use="required"/>
  </complexType>

  <complexType name="RoleRefType">
    <attribute name="roleID" type="string" use="required"/>
  </complexType>

  <complexType name="PropertyType">
    <simpleContent>
      <extension base="string">
        <attribute name="name" type="string" use="required"/>
      </extension>
    </simpleContent>
  </complexType>

  <simpleType name="VersionType">
    <restriction base="string">
      <enumeration value="1.0"/>
    </restriction>
  </simpleType>
</schema>
`

// renderLog writes the node's logs/geoserver.log: the startup of the last
// run and a few requests.
func (m *model) renderLog(b []byte, at time.Time) []byte {
	r := m.objRand(randLog, 1<<21)
	t := at.Add(-time.Duration(len(m.layers)/20+30) * time.Second)
	line := func(level, logger, msg string) {
		b = fmt.Appendf(b, "%s %s [%s] - %s\n", t.Format("02 Jan 15:04:05"), level, logger, msg)
		t = t.Add(time.Duration(r.IntN(900)) * time.Millisecond)
	}
	line("INFO", "org.geoserver.logging", "Log4j 2 configuration set to DEFAULT_LOGGING.xml")
	line("CONFIG", "org.geoserver.logging", "Logging policy: File messages to: 'logs/geoserver.log'")
	line("INFO", "org.geoserver.platform", "GeoServer data directory: /var/lib/geoserver/data")
	line("INFO", "org.geoserver.catalog.datadir", "Loading catalog from data directory")
	line("INFO", "org.geoserver.catalog.datadir", fmt.Sprintf("Loaded %d workspaces, %d stores, %d resources, %d layers, %d styles, %d layer groups",
		len(m.workspaces), len(m.stores), len(m.layers), len(m.layers), len(m.styles), len(m.groups)))
	for _, st := range m.stores {
		if st.kind == storePostGIS && r.IntN(40) == 0 {
			line("WARN", "org.geoserver.catalog.impl.CatalogBuilder", fmt.Sprintf("Error connecting to data store %s:%s, retrying when first used", st.ws.name, st.name))
		}
	}
	line("INFO", "org.geowebcache.storage.DefaultStorageFinder", "Found system environment variable GEOWEBCACHE_CACHE_DIR set to /var/cache/geowebcache")
	line("INFO", "org.geoserver.gwc.layer", fmt.Sprintf("Loaded %d tile layers", len(m.layers)+len(m.groups)))
	line("INFO", "org.geoserver.security", "Start reloading user/groups for service named default")
	line("INFO", "org.geoserver.security", "Reloading user/groups successful for service named default")
	for range 20 + r.IntN(40) {
		l := m.layers[r.IntN(len(m.layers))]
		line("INFO", "org.geoserver.wms.WMS", fmt.Sprintf("GetMap LAYERS=%s:%s STYLES= SRS=EPSG:900913 WIDTH=256 HEIGHT=256 FORMAT=image/png", l.st.ws.name, l.name))
	}
	return b
}
