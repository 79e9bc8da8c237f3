package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Load reads the configuration file at path and parses it as Parse does.
// Relative paths inside it (*_file keys, the sqlite database, plugin
// commands) are resolved against the file's directory.
//
// Unlike Parse, Load takes the file as the whole configuration and refuses
// one that configures nothing: an empty file (or one of only comments),
// which is also what a reader sees of a file being saved in place, and one
// with neither providers nor services. Either would silently replace a
// running configuration with the defaults.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return parse(path, data, filepath.Dir(path), true)
}

// Parse decodes data as an ssogate.yaml: strictly (a key that belongs to no
// field is an error), with ${ENV} expansion in string values, *_file secrets
// read, the files named by other *_file keys resolved and checked to be
// readable, defaults applied and the result validated. name is used in error
// messages; when it names an existing file, relative paths are resolved
// against that file's directory, otherwise against the working directory.
//
// A configuration with problems yields a nil *Config and an Errors listing
// all of them in file order.
func Parse(name string, data []byte) (*Config, error) {
	dir := ""
	if fi, err := os.Stat(name); name != "" && err == nil && fi.Mode().IsRegular() {
		dir = filepath.Dir(name)
	}
	return parse(name, data, dir, false)
}

// parse decodes data; whole refuses a document that configures nothing.
func parse(name string, data []byte, dir string, whole bool) (*Config, error) {
	if dir != "" {
		if abs, err := filepath.Abs(dir); err == nil {
			dir = abs
		}
	}
	d := &decoder{
		src: &source{
			file:   name,
			dir:    dir,
			keys:   map[string]*yaml.Node{},
			values: map[string]*yaml.Node{},
			failed: map[string]bool{},
		},
		expanded: map[*yaml.Node]bool{},
	}
	c := &Config{Path: name, src: d.src}
	root := d.parse(data)
	if root != nil {
		d.expandEnv(root, "")
		d.decodeMapping(root, reflect.ValueOf(c).Elem(), "")
	}
	if whole {
		d.wholeDocument(root, c)
	}
	d.readSecretFile(&c.Session.Secret, c.Session.SecretFile, "session.secret", "session.secret_file")
	d.readSecretFile(&c.Store.DSN, c.Store.DSNFile, "store.dsn", "store.dsn_file")
	d.notifyFiles(&c.Notify.Mail)
	d.phoneFiles(&c.Notify.SMS, "notify.sms")
	d.phoneFiles(&c.Notify.Voice, "notify.voice")
	for i := range c.Providers {
		d.providerFiles(&c.Providers[i], fmt.Sprintf("providers[%d]", i))
	}
	c.setDefaults()
	var verrs Errors
	if err := c.Validate(); err != nil {
		verrs = err.(Errors)
	}
	if err := append(d.errs, verrs...).err(); err != nil {
		return nil, err
	}
	return c, nil
}

// source is where a Config came from: the YAML nodes behind each key path,
// kept for line numbers in errors and to tell an explicit "0s" from an
// absent key when applying defaults.
type source struct {
	file   string
	dir    string                // relative paths are resolved here; "" means the working directory
	keys   map[string]*yaml.Node // key path -> the key's node
	values map[string]*yaml.Node // key path (or list item path) -> the value's node
	failed map[string]bool       // key paths already reported while decoding
}

// present reports whether key was written in the file with a non-null value
// that decoded.
func (s *source) present(key string) bool {
	if s == nil || s.failed[key] {
		return false
	}
	n := s.values[key]
	if n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n != nil && n.ShortTag() != "!!null"
}

// line is the line of key, or of the nearest enclosing key or list item
// written in the file (a missing key is reported at its parent), or 0.
func (s *source) line(key string) int {
	if s == nil {
		return 0
	}
	for k := key; k != ""; k = parentKey(k) {
		if n := s.keys[k]; n != nil {
			return n.Line
		}
		if n := s.values[k]; n != nil {
			return n.Line
		}
	}
	return 0
}

// resolve makes a relative path relative to the configuration's directory.
func (s *source) resolve(path string) string {
	if s == nil || s.dir == "" || path == "" || filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(s.dir, path)
}

// parentKey strips the last element of a key path: "services[2].name" ->
// "services[2]" -> "services" -> "".
func parentKey(key string) string {
	if strings.HasSuffix(key, "]") {
		if i := strings.LastIndexByte(key, '['); i >= 0 {
			return key[:i]
		}
	}
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		return key[:i]
	}
	return ""
}

func joinKey(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decoder decodes a yaml.Node tree into the schema's structs by reflection,
// so that every unknown key and every badly typed value is reported with its
// key path and line rather than stopping at the first.
type decoder struct {
	src      *source
	errs     Errors
	expanded map[*yaml.Node]bool // string scalars rewritten by ${ENV} expansion
}

func (d *decoder) errorAt(n *yaml.Node, key, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errs = append(d.errs, &Error{File: d.src.file, Line: line, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// fail reports a value that could not be decoded; validation stays quiet
// about the same key and defaults treat it as absent.
func (d *decoder) fail(n *yaml.Node, key, format string, args ...any) {
	d.errorAt(n, key, format, args...)
	d.src.failed[key] = true
}

var yamlLineError = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// parse returns the top-level node of the single YAML document in data, or
// nil for an empty file or a syntax error (which is recorded).
func (d *decoder) parse(data []byte) *yaml.Node {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if !errors.Is(err, io.EOF) {
			d.syntaxError(err)
		}
		return nil
	}
	var extra yaml.Node
	switch err := dec.Decode(&extra); {
	case err == nil:
		d.errorAt(&extra, "", "a second YAML document (after ---) is not allowed; keep the whole configuration in one document")
	case !errors.Is(err, io.EOF):
		d.syntaxError(err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return nil
	}
	root := doc.Content[0]
	if root.ShortTag() == "!!null" {
		return nil
	}
	return root
}

// wholeDocument refuses a document that configures nothing: an empty file
// (or one of only comments) is what a reader sees of a file being saved in
// place, and one with neither providers nor services serves nothing. Either
// would replace a running configuration with the defaults.
func (d *decoder) wholeDocument(root *yaml.Node, c *Config) {
	switch {
	case len(d.errs) > 0:
		// A syntax error or a key that did not decode says more.
	case root == nil:
		d.errs = append(d.errs, &Error{File: d.src.file, Msg: "the configuration is empty (nothing but comments or blank lines); " +
			"it needs at least services or providers. A file being saved in place is empty for a moment: " +
			"save by writing a temporary file and renaming it over this one"})
	case len(c.Providers) == 0 && len(c.Services) == 0:
		key := "services"
		if d.src.keys[key] == nil && d.src.keys["providers"] != nil {
			key = "providers"
		}
		d.errorAt(d.src.keys[key], "", "neither providers nor services are configured, so the gateway would serve nothing; "+
			"add at least one service, e.g. services: [{id: wiki, name: 社内Wiki, url: https://wiki.example.co.jp/}]")
	}
}

func (d *decoder) syntaxError(err error) {
	msg := err.Error()
	if m := yamlLineError.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		d.errs = append(d.errs, &Error{File: d.src.file, Line: line, Msg: "invalid YAML: " + m[2]})
		return
	}
	d.errs = append(d.errs, &Error{File: d.src.file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")})
}

var (
	unmarshalerType = reflect.TypeFor[yaml.Unmarshaler]()
	providerType    = reflect.TypeFor[Provider]()
	jsonObjectType  = reflect.TypeFor[map[string]any]()
)

// decodeValue decodes n into v, which is addressable.
func (d *decoder) decodeValue(n *yaml.Node, v reflect.Value, path string) {
	d.src.values[path] = n
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.ShortTag() == "!!null" {
		return
	}
	t := v.Type()
	switch {
	case t == textType:
		d.decodeText(n, v, path)
	case reflect.PointerTo(t).Implements(unmarshalerType):
		d.decodeScalar(n, v, path)
	case t == providerType:
		d.decodeProvider(n, v, path)
	case t == jsonObjectType:
		d.decodeJSONObject(n, v, path)
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String:
		// Free-form names (services[].saml.attributes).
		d.decodeStringMap(n, v, path)
	case t.Kind() == reflect.Struct:
		d.decodeMapping(n, v, path)
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		// An optional block (services[].oidc): present once written.
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.decodeValue(n, v.Elem(), path)
	case t.Kind() == reflect.Slice:
		d.decodeSequence(n, v, path)
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeMapping(n *yaml.Node, v reflect.Value, path string) {
	fields := yamlFields(v.Type())
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping of keys (%s), not %s", strings.Join(fieldNames(fields), ", "), describe(n))
		return
	}
	seen := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := joinKey(path, k.Value)
		if k.Value == "<<" {
			d.errorAt(k, key, "merge keys (<<) are not supported; write the keys out")
			continue
		}
		if first, ok := seen[k.Value]; ok {
			d.errorAt(k, key, "duplicate key; already set at line %d", first.Line)
			continue
		}
		seen[k.Value] = k
		f, ok := lookupField(fields, k.Value)
		if !ok {
			d.errorAt(k, key, "unknown key%s", suggest(k.Value, fieldNames(fields)))
			continue
		}
		d.src.keys[key] = k
		d.decodeValue(val, v.FieldByIndex(f.index), key)
	}
}

// decodeStringMap decodes a mapping of free-form keys (a SAML service's
// attributes), each value as its type says.
func (d *decoder) decodeStringMap(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping of names to values, not %s", describe(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		key := joinKey(path, k.Value)
		if m.MapIndex(reflect.ValueOf(k.Value)).IsValid() {
			d.errorAt(k, key, "duplicate key")
			continue
		}
		d.src.keys[key] = k
		e := reflect.New(v.Type().Elem()).Elem()
		d.decodeValue(val, e, key)
		m.SetMapIndex(reflect.ValueOf(k.Value).Convert(v.Type().Key()), e)
	}
	v.Set(m)
}

func (d *decoder) decodeSequence(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.SequenceNode {
		d.fail(n, path, "must be a list, not %s; write [a, b] or one \"- item\" per line", describe(n))
		return
	}
	s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		d.decodeValue(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
	}
	v.Set(s)
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	custom := reflect.PointerTo(v.Type()).Implements(unmarshalerType)
	if n.Kind != yaml.ScalarNode && !custom {
		d.fail(n, path, "must be a single value, not %s", describe(n))
		return
	}
	if v.Kind() == reflect.String && d.expanded[n] {
		// The text after expansion is the value, even if it reads as null.
		v.SetString(n.Value)
		return
	}
	err := n.Decode(v.Addr().Interface())
	if err == nil {
		return
	}
	var te *yaml.TypeError
	if custom || !errors.As(err, &te) {
		d.fail(n, path, "%v", err)
		return
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		d.fail(n, path, "must be a whole number, not %q", n.Value)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		max := uint64(math.MaxUint64) >> (64 - v.Type().Bits())
		d.fail(n, path, "must be a whole number from 0 to %d, not %q", max, n.Value)
	default:
		d.fail(n, path, "must be a %s, not %q", v.Kind(), n.Value)
	}
}

// providerKeys is the keys one provider type accepts: the common fields and
// the type's options, inlined into one mapping.
type providerKeys interface {
	provider() Provider
}

type localProviderKeys struct {
	Provider      `yaml:",inline"`
	LocalProvider `yaml:",inline"`
}

func (k *localProviderKeys) provider() Provider {
	p := k.Provider
	p.Local = &k.LocalProvider
	return p
}

type oidcProviderKeys struct {
	Provider     `yaml:",inline"`
	OIDCProvider `yaml:",inline"`
}

func (k *oidcProviderKeys) provider() Provider {
	p := k.Provider
	p.OIDC = &k.OIDCProvider
	return p
}

type samlProviderKeys struct {
	Provider     `yaml:",inline"`
	SAMLProvider `yaml:",inline"`
}

func (k *samlProviderKeys) provider() Provider {
	p := k.Provider
	p.SAML = &k.SAMLProvider
	return p
}

type ldapProviderKeys struct {
	Provider     `yaml:",inline"`
	LDAPProvider `yaml:",inline"`
}

func (k *ldapProviderKeys) provider() Provider {
	p := k.Provider
	p.LDAP = &k.LDAPProvider
	return p
}

type networkProviderKeys struct {
	Provider        `yaml:",inline"`
	NetworkProvider `yaml:",inline"`
}

func (k *networkProviderKeys) provider() Provider {
	p := k.Provider
	p.Network = &k.NetworkProvider
	return p
}

type pluginProviderKeys struct {
	Provider       `yaml:",inline"`
	PluginProvider `yaml:",inline"`
}

func (k *pluginProviderKeys) provider() Provider {
	p := k.Provider
	p.Plugin = &k.PluginProvider
	return p
}

// providerTypes maps each provider type to the keys its entries accept.
var providerTypes = map[string]func() providerKeys{
	"local":   func() providerKeys { return new(localProviderKeys) },
	"oidc":    func() providerKeys { return new(oidcProviderKeys) },
	"saml":    func() providerKeys { return new(samlProviderKeys) },
	"ldap":    func() providerKeys { return new(ldapProviderKeys) },
	"network": func() providerKeys { return new(networkProviderKeys) },
	"plugin":  func() providerKeys { return new(pluginProviderKeys) },
}

func providerTypeNames() []string {
	names := make([]string, 0, len(providerTypes))
	for name := range providerTypes {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// decodeProvider decodes a providers entry strictly against the keys of its
// type. When the type is missing or unknown only the common keys are
// decoded: Validate reports the type, and the other keys cannot be judged.
func (d *decoder) decodeProvider(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "must be a mapping with at least id and type, not %s", describe(n))
		return
	}
	typ := ""
	for i := 0; i+1 < len(n.Content); i += 2 {
		if val := n.Content[i+1]; n.Content[i].Value == "type" && val.Kind == yaml.ScalarNode {
			typ = val.Value
		}
	}
	newKeys, ok := providerTypes[typ]
	if !ok {
		common := &yaml.Node{Kind: yaml.MappingNode, Line: n.Line, Column: n.Column}
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch n.Content[i].Value {
			case "id", "type", "label":
				common.Content = append(common.Content, n.Content[i], n.Content[i+1])
			}
		}
		d.decodeMapping(common, v, path)
		return
	}
	k := newKeys()
	d.decodeMapping(n, reflect.ValueOf(k).Elem(), path)
	v.Set(reflect.ValueOf(k.provider()))
}

// readSecretFile reads a *_file key into its value key: the file's content
// without one trailing newline.
func (d *decoder) readSecretFile(dst *string, file, key, fileKey string) {
	if file == "" {
		return
	}
	n := d.src.keys[fileKey]
	if *dst != "" {
		d.fail(n, fileKey, "set either %s or %s, not both", key, fileKey)
		return
	}
	data, err := os.ReadFile(d.src.resolve(file))
	if err != nil {
		d.fail(n, fileKey, "cannot read the file: %v", err)
		return
	}
	s := strings.TrimSuffix(string(data), "\n")
	*dst = strings.TrimSuffix(s, "\r")
}

// providerFiles reads a provider's *_file secrets and resolves the paths of
// the files it reads later (metadata, certificates, a plugin's command),
// checking now that they can be read so that a wrong path is reported with
// its line rather than at the first sign-in. (Validate checks the plugin
// command, so that a Config built in code is checked too.)
func (d *decoder) providerFiles(p *Provider, path string) {
	switch {
	case p.OIDC != nil:
		o := p.OIDC
		d.readSecretFile(&o.ClientSecret, o.ClientSecretFile, path+".client_secret", path+".client_secret_file")
	case p.SAML != nil:
		s := p.SAML
		d.checkFile(&s.IDPMetadataFile, path+".idp_metadata_file")
		d.checkFile(&s.CertificateFile, path+".certificate_file")
		d.checkFile(&s.KeyFile, path+".key_file")
	case p.LDAP != nil:
		l := p.LDAP
		d.readSecretFile(&l.BindPassword, l.BindPasswordFile, path+".bind_password", path+".bind_password_file")
		d.checkFile(&l.CAFile, path+".ca_file")
	case p.Plugin != nil && p.Plugin.Command != "":
		// Absolute even without a directory: a bare name would otherwise
		// be looked up in PATH when the plugin is started, and run a
		// different file from the one Validate checked.
		cmd := d.src.resolve(p.Plugin.Command)
		if abs, err := filepath.Abs(cmd); err == nil {
			cmd = abs
		}
		p.Plugin.Command = cmd
	}
}

// checkFile resolves the file path at *p against the configuration's
// directory and reports it at key unless it names a readable file.
func (d *decoder) checkFile(p *string, key string) {
	if *p == "" {
		return
	}
	*p = d.src.resolve(*p)
	n := d.src.keys[key]
	f, err := os.Open(*p)
	if err != nil {
		d.fail(n, key, "cannot read the file: %v", err)
		return
	}
	defer f.Close()
	if fi, err := f.Stat(); err != nil {
		d.fail(n, key, "cannot read the file: %v", err)
	} else if !fi.Mode().IsRegular() {
		d.fail(n, key, "%s is not a regular file; name the file itself", *p)
	}
}

type field struct {
	name  string
	index []int
}

// yamlFields lists the keys of a struct type by their yaml tags, with
// ",inline" structs flattened in.
func yamlFields(t reflect.Type) []field {
	var fields []field
	for i := range t.NumField() {
		sf := t.Field(i)
		if !sf.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(sf.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if opts == "inline" {
			for _, f := range yamlFields(sf.Type) {
				f.index = append([]int{i}, f.index...)
				fields = append(fields, f)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(sf.Name)
		}
		fields = append(fields, field{name: name, index: []int{i}})
	}
	return fields
}

func lookupField(fields []field, name string) (field, bool) {
	for _, f := range fields {
		if f.name == name {
			return f, true
		}
	}
	return field{}, false
}

func fieldNames(fields []field) []string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	return names
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	default:
		return fmt.Sprintf("%q", n.Value)
	}
}

// suggest tells what was probably meant by an unknown name, then lists the
// valid ones.
func suggest(got string, valid []string) string {
	best, bestDist := "", 3
	for _, v := range valid {
		if dist := editDistance(strings.ToLower(got), v); dist < bestDist && dist < len(v)/2+1 {
			best, bestDist = v, dist
		}
	}
	list := strings.Join(valid, ", ")
	if best != "" {
		return fmt.Sprintf("; did you mean %q? valid: %s", best, list)
	}
	return "; valid: " + list
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
