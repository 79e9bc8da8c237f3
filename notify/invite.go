package notify

// inviteTemplates adds the invitation mails to Templates before init
// parses them, so that each flow of issue 10 lists its own templates.
var inviteTemplates = func() bool {
	Templates = append(Templates, TemplateInvitation, TemplateInvitationAccepted, TemplateMethodChange, TemplateEmailChangeLink)
	return true
}()
