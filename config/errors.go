package config

import (
	"fmt"
	"sort"
	"strings"
)

// Error is one problem in a configuration file: where it is and what would
// be valid. Its text reads
//
//	ssogate.yaml:12: providers[0].type: unknown provider type "ldpa"; valid: ldap, local, oidc, saml
type Error struct {
	// File is the name the configuration was read from ("" when unnamed).
	File string
	// Line is the 1-based line of the offending key or value; 0 when the
	// configuration was not read from YAML.
	Line int
	// Key is the dotted path of the key, with [i] for list items
	// ("services[2].allowed_groups"); "" for problems with the whole file.
	Key string
	// Msg says what is wrong and what would be valid.
	Msg string
}

func (e *Error) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		fmt.Fprintf(&b, "%s: ", e.File)
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every problem found in one configuration, so that all of them
// can be fixed in one go. Its text is one Error per line.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets errors.As find each *Error.
func (es Errors) Unwrap() []error {
	errs := make([]error, len(es))
	for i, e := range es {
		errs[i] = e
	}
	return errs
}

// err returns es as an error in file order, or nil when es is empty (never
// a non-nil error holding an empty list).
func (es Errors) err() error {
	if len(es) == 0 {
		return nil
	}
	sort.SliceStable(es, func(i, j int) bool { return es[i].Line < es[j].Line })
	return es
}

// ErrorAt returns an Error at key, naming the key's line in c's file, for
// a problem found outside Validate: one that needs more than the file to
// see, such as a hashing budget too small for the hashes in the store.
func (c *Config) ErrorAt(key, format string, args ...any) *Error {
	return &Error{File: c.Path, Line: c.src.line(key), Key: key, Msg: fmt.Sprintf(format, args...)}
}
