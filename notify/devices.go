package notify

// deviceTemplates adds device approval's mails to Templates. A package
// variable's initializer runs before every init function, so render.go's
// init parses them with the others; each flow adds its own without
// editing one shared list.
var deviceTemplates = func() []string {
	names := []string{TemplateDeviceApproval, TemplateDeviceToken}
	Templates = append(Templates, names...)
	return names
}()
