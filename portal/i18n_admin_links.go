package portal

func init() {
	addMessages(map[string]string{
		"admin.links.title":       "本人に変更用リンクを送る",
		"admin.links.explain":     "ログイン方法またはメールアドレス（ログインID）を本人が変更するためのリンクを、登録済みのメールアドレスに送ります。変更は本人がメールから行います。",
		"admin.links.method":      "ログイン方法変更URLを送る",
		"admin.links.email":       "メールアドレス変更URLを送る",
		"admin.links.method_sent": "ログイン方法変更のリンクを送りました。",
		"admin.links.email_sent":  "メールアドレス変更のリンクを送りました。",
	}, map[string]string{
		"admin.links.title":       "Send the person a link to change",
		"admin.links.explain":     "Mail a link to the registered address with which the person changes their login method or their email address (login id) themselves.",
		"admin.links.method":      "Send a login-method-change link",
		"admin.links.email":       "Send an email-change link",
		"admin.links.method_sent": "The login-method-change link was sent.",
		"admin.links.email_sent":  "The email-change link was sent.",
	})
}
