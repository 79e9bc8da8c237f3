package portal

import (
	"html/template"
	"maps"
	"slices"
	"strings"
)

// fallbackIcon is drawn for a tile whose icon is empty or unknown.
const fallbackIcon = "app"

// iconPaths holds the inner SVG of each built-in tile icon, drawn on a
// 24×24 grid as strokes of the current text colour. The set is fixed so that
// configuration can only choose an icon, never inject markup.
var iconPaths = map[string]string{
	"app":      `<rect x="3.5" y="3.5" width="7" height="7" rx="1.5"/><rect x="13.5" y="3.5" width="7" height="7" rx="1.5"/><rect x="3.5" y="13.5" width="7" height="7" rx="1.5"/><rect x="13.5" y="13.5" width="7" height="7" rx="1.5"/>`,
	"book":     `<path d="M2.5 5.5c3-1.5 6.5-1.5 9.5 1 3-2.5 6.5-2.5 9.5-1v13c-3-1.5-6.5-1.5-9.5 1-3-2.5-6.5-2.5-9.5-1z"/><path d="M12 6.5v13"/>`,
	"calendar": `<rect x="3" y="5" width="18" height="16" rx="1.5"/><path d="M3 10h18M8 3v4M16 3v4M7.5 14h2M11 14h2M14.5 14h2M7.5 17.5h2M11 17.5h2"/>`,
	"chart":    `<path d="M3.5 20.5h17"/><rect x="5.5" y="12" width="3" height="6"/><rect x="10.5" y="7" width="3" height="11"/><rect x="15.5" y="4" width="3" height="14"/>`,
	"chat":     `<path d="M4 4h16a1 1 0 0 1 1 1v11a1 1 0 0 1-1 1H9.5L5 20.5V17H4a1 1 0 0 1-1-1V5a1 1 0 0 1 1-1z"/><path d="M7.5 9h9M7.5 12.5h6"/>`,
	"cloud":    `<path d="M7 19h10.5a4.5 4.5 0 0 0 .6-8.96A6 6 0 0 0 6.4 9.05 5 5 0 0 0 7 19z"/>`,
	"code":     `<path d="M8.5 7l-5 5 5 5M15.5 7l5 5-5 5M13.5 4.5l-3 15"/>`,
	"database": `<ellipse cx="12" cy="5.5" rx="8" ry="3"/><path d="M4 5.5v13c0 1.7 3.6 3 8 3s8-1.3 8-3v-13M4 12c0 1.7 3.6 3 8 3s8-1.3 8-3"/>`,
	"doc":      `<path d="M6 2.5h8l5 5V21a.5.5 0 0 1-.5.5h-12.5a1 1 0 0 1-1-1V3.5a1 1 0 0 1 1-1z"/><path d="M14 2.5v5h5M8.5 12.5h7M8.5 16h7"/>`,
	"folder":   `<path d="M3 6a1 1 0 0 1 1-1h5l2 2.5h9a1 1 0 0 1 1 1V18a1 1 0 0 1-1 1H4a1 1 0 0 1-1-1z"/>`,
	"globe":    `<circle cx="12" cy="12" r="9"/><path d="M3 12h18M12 3c2.4 2.5 3.7 5.5 3.7 9s-1.3 6.5-3.7 9c-2.4-2.5-3.7-5.5-3.7-9S9.6 5.5 12 3z"/>`,
	"mail":     `<rect x="3" y="5" width="18" height="14" rx="1.5"/><path d="M3.5 6.5L12 13l8.5-6.5"/>`,
	"money":    `<circle cx="12" cy="12" r="9"/><path d="M8.5 7l3.5 5 3.5-5M12 12v5.5M9 12.5h6M9 15h6"/>`,
	"people":   `<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20c0-3.6 2.9-6 6.5-6s6.5 2.4 6.5 6"/><circle cx="17" cy="9" r="2.5"/><path d="M17.5 14c2.6.2 4 2 4 5"/>`,
	"phone":    `<rect x="6" y="2.5" width="12" height="19" rx="2"/><path d="M10.5 18.5h3"/>`,
	"search":   `<circle cx="10.5" cy="10.5" r="6.5"/><path d="M15.5 15.5L21 21"/>`,
	"settings": `<path d="M4 6h9M17 6h3M4 12h3M11 12h9M4 18h11M19 18h1"/><circle cx="15" cy="6" r="2"/><circle cx="9" cy="12" r="2"/><circle cx="17" cy="18" r="2"/>`,
	"shield":   `<path d="M12 2.5l8 3v6c0 5-3.4 8.6-8 10-4.6-1.4-8-5-8-10v-6z"/><path d="M8.5 12l2.5 2.5 4.5-5"/>`,
	"ticket":   `<path d="M3 6.5A1.5 1.5 0 0 1 4.5 5h15A1.5 1.5 0 0 1 21 6.5v3a2.5 2.5 0 0 0 0 5v3a1.5 1.5 0 0 1-1.5 1.5h-15A1.5 1.5 0 0 1 3 17.5v-3a2.5 2.5 0 0 0 0-5z"/><path d="M14 5v2.5M14 10.75v2.5M14 16.5V19"/>`,
	"video":    `<rect x="2.5" y="6" width="13" height="12" rx="1.5"/><path d="M15.5 10.5l6-3.5v10l-6-3.5"/>`,
}

// Icons returns the names of the built-in tile icons, sorted. A service's
// icon should be one of them; any other name is drawn as "app".
func Icons() []string {
	return slices.Sorted(maps.Keys(iconPaths))
}

// icon returns the inline SVG for name. The markup comes only from
// iconPaths, never from name, which is why it may be trusted as HTML.
func icon(name string) template.HTML {
	inner, ok := iconPaths[strings.ToLower(strings.TrimSpace(name))]
	if !ok {
		inner = iconPaths[fallbackIcon]
	}
	return template.HTML(`<svg class="icon" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" width="32" height="32" fill="none" stroke="currentColor" stroke-width="1.75" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">` + inner + `</svg>`)
}
