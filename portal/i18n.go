package portal

import (
	"fmt"
	"strconv"
	"strings"
)

// defaultLang is the language used when nothing better is known: the portal
// is built for Japanese companies.
const defaultLang = "ja"

// languages lists the supported languages, default first.
var languages = []string{"ja", "en"}

// Languages returns the supported language tags, the default ("ja") first.
// The caller owns the returned slice.
func Languages() []string {
	return append([]string(nil), languages...)
}

// supported reports whether lang is exactly one of Languages().
func supported(lang string) bool {
	_, ok := catalog[lang]
	return ok
}

// HasKey reports whether key is a message in the catalog. Every key exists
// in every language, so one answer covers all of them.
func HasKey(key string) bool {
	_, ok := catalog[defaultLang][key]
	return ok
}

// T returns the message key in lang, formatted with args as by fmt.Sprintf
// when args are given. An unsupported lang falls back to Japanese; an
// unknown key is returned unchanged, so a missing translation shows up as
// its key rather than as an empty string.
func T(lang, key string, args ...any) string {
	msgs, ok := catalog[lang]
	if !ok {
		msgs = catalog[defaultLang]
	}
	msg, ok := msgs[key]
	if !ok {
		return key
	}
	if len(args) == 0 {
		return msg
	}
	return fmt.Sprintf(msg, args...)
}

// maxAcceptLanguage bounds the work spent on a client-controlled header;
// real browsers send a few dozen bytes.
const maxAcceptLanguage = 1024

// MatchLanguage picks the page language. A cookieValue naming a supported
// language wins; otherwise the supported language the Accept-Language header
// rates highest (by q-value, then by order) is chosen; otherwise def.
// Region subtags are ignored ("ja-JP" is "ja"), "*" and q=0 entries never
// select a language, and a malformed header counts as absent.
func MatchLanguage(cookieValue, acceptLanguage, def string) string {
	if c := strings.ToLower(strings.TrimSpace(cookieValue)); supported(c) {
		return c
	}
	if len(acceptLanguage) > maxAcceptLanguage {
		acceptLanguage = acceptLanguage[:maxAcceptLanguage]
	}
	best, bestQ := "", 0.0
	for part := range strings.SplitSeq(acceptLanguage, ",") {
		tag, q, ok := parseLanguageRange(part)
		if !ok || q <= bestQ {
			continue
		}
		if primary, _, _ := strings.Cut(tag, "-"); supported(primary) {
			best, bestQ = primary, q
		}
	}
	if best != "" {
		return best
	}
	return def
}

// parseLanguageRange parses one Accept-Language element such as
// "en-US;q=0.8" into a lower-case tag ("en-us") and its weight.
func parseLanguageRange(s string) (tag string, q float64, ok bool) {
	tag, params, _ := strings.Cut(s, ";")
	tag = strings.ToLower(strings.TrimSpace(tag))
	tag = strings.ReplaceAll(tag, "_", "-")
	if tag == "" || !isLanguageTag(tag) {
		return "", 0, false
	}
	q = 1
	for p := range strings.SplitSeq(params, ";") {
		name, value, found := strings.Cut(p, "=")
		if !found || strings.ToLower(strings.TrimSpace(name)) != "q" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(value), 64)
		if err != nil || v < 0 || v > 1 {
			return "", 0, false
		}
		q = v
	}
	return tag, q, true
}

// isLanguageTag accepts the shape of a BCP 47 tag or "*": letters, digits and
// hyphens, at most 35 bytes.
func isLanguageTag(s string) bool {
	if s == "*" {
		return true
	}
	if len(s) > 35 {
		return false
	}
	for _, c := range s {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') && c != '-' {
			return false
		}
	}
	return true
}

// normalizeLang returns lang if supported, its primary subtag if that is
// supported, else def.
func normalizeLang(lang, def string) string {
	lang = strings.ToLower(strings.TrimSpace(lang))
	if supported(lang) {
		return lang
	}
	if primary, _, _ := strings.Cut(strings.ReplaceAll(lang, "_", "-"), "-"); supported(primary) {
		return primary
	}
	return def
}

// catalog holds every message in every supported language; the tests check
// that both languages have the same keys and that every key a template uses
// is here. Keys the gateway passes in view models (ErrorKey, NoticeKey,
// MessageKey, Errors) are part of the contract with it: rename none.
var catalog = map[string]map[string]string{
	"ja": {
		"site.default_title": "社内ポータル",
		"a11y.skip":          "本文へ移動",
		"header.account":     "ログイン中のアカウント",
		"nav.menu":           "メニュー",
		"nav.home":           "ホーム",
		"nav.profile":        "個人情報",
		"nav.logout":         "ログアウト",
		"lang.label":         "表示言語",
		"lang.ja":            "日本語",
		"lang.en":            "English",

		"login.title":                      "ログイン",
		"login.email":                      "メールアドレス",
		"login.password":                   "パスワード",
		"login.submit":                     "ログイン",
		"login.error.invalid":              "メールアドレスまたはパスワードが正しくありません。",
		"login.error.busy":                 "ただいま混み合っています。しばらく待ってから、もう一度お試しください。",
		"login.error.disabled":             "このアカウントは現在ご利用いただけません。管理者にお問い合わせください。",
		"login.error.required":             "メールアドレスとパスワードを入力してください。",
		"login.username":                   "ユーザー名またはメールアドレス",
		"post.title":                       "ログイン先へ移動",
		"post.explain":                     "%sのログイン画面へ移動します。「続行」を押してください。",
		"post.continue":                    "続行",
		"login.or":                         "または",
		"login.provider_unavailable":       "（一時的に利用できません）",
		"login.other_methods":              "他の方法でログイン",
		"login.provider":                   "%sでログイン",
		"login.error.denied":               "ログインがキャンセルされたか、ログイン先で拒否されました。もう一度お試しください。",
		"login.error.not_allowed":          "このアカウントではログインできません。会社のアカウントでログインしてください。",
		"login.error.invalid_response":     "ログイン先からの応答を確認できませんでした。もう一度最初からお試しください。",
		"login.error.unavailable":          "ログイン先に接続できません。しばらく待ってから、もう一度お試しください。",
		"login.error.not_registered":       "このアカウントは登録されていません。管理者にお問い合わせください。",
		"login.error.expired_flow":         "ログインの有効期限が切れました。もう一度最初からお試しください。",
		"login.error.method":               "このログイン方法はご利用いただけません。管理者が許可した方法でログインしてください。",
		"login.error.locked":               "アカウントがロックされています。しばらく待つか、管理者にお問い合わせください。",
		"login.error.account_disabled":     "アカウントが無効になっています。管理者にお問い合わせください。",
		"login.error.account_expired":      "アカウントの有効期限が切れています。管理者にお問い合わせください。",
		"login.error.password_expired":     "パスワードの有効期限が切れています。パスワードを変更してから、もう一度ログインしてください。",
		"login.error.must_change_password": "初回ログインの前にパスワードの変更が必要です。パスワードを変更してから、もう一度ログインしてください。",
		"profile.managed":                  "この項目はログイン元（%s）から自動で設定されるため、ここでは変更できません。",
		"login.session_ended_kept":         "ログインの有効期限が切れたため、個人情報の変更はまだ保存されていません。もう一度ログインすると、入力した内容を戻した画面を表示します。",
		"login.session_ended":              "ログインの有効期限が切れたため、個人情報の変更は保存されませんでした。もう一度ログインして、入力し直してください。",
		"login.passkey":                    "パスキーでログイン",
		"passkey.login.title":              "パスキーでログイン",
		"passkey.login.intro":              "このパソコンやスマートフォンに保存したパスキー、またはセキュリティキーで、パスワードなしでログインします。ボタンを押して、画面の案内（指紋・顔認証・PIN など）に従ってください。",
		"passkey.login.submit":             "パスキーを使う",
		"passkey.login.again":              "もう一度試す",
		"passkey.login.password":           "パスワードなど、他の方法でログイン",
		"passkey.waiting":                  "パスキーの確認を待っています。画面の案内に従ってください。",
		"passkey.cancelled":                "パスキーの確認が取り消されたか、時間切れになりました。もう一度ボタンを押してください。",
		"passkey.failed":                   "パスキーを使えませんでした。もう一度お試しいただくか、他の方法でログインしてください。",
		"passkey.unsupported":              "このブラウザはパスキーに対応していません。他の方法でログインしてください。",
		"passkey.noscript":                 "パスキーを使うには、ブラウザの JavaScript を有効にしてください。有効にできない場合は、パスワードなど他の方法でログインしてください。",
		"passkey.error.invalid":            "パスキーを確認できませんでした。このポータルに登録したパスキーを使うか、他の方法でログインしてください。",
		"passkey.error.expired":            "時間が経ちすぎたため、やり直しが必要です。もう一度ボタンを押してください。",
		"lockout.login_note":               "パスワードを続けて間違えると、アカウントがロックされます。ロックされたときは、解除の方法をメールでお知らせします。",
		"unlock.title":                     "アカウントのロック解除",
		"unlock.confirm":                   "下のボタンを押すと、アカウントのロックを解除します。",
		"unlock.submit":                    "ロックを解除する",
		"unlock.done_heading":              "ロックを解除しました",
		"unlock.done":                      "アカウントのロックを解除しました。ログインしてください。",
		"unlock.to_login":                  "ログイン画面へ",
		"unlock.invalid_heading":           "このリンクは使えません",
		"unlock.invalid":                   "ロック解除のリンクが正しくないか、有効期限が切れているか、すでに使われています。",
		"unlock.reset_hint":                "パスワードを再設定しても、アカウントのロックは解除されます。",
		"unlock.to_reset":                  "パスワードを再設定する",
		"throttle.title":                   "しばらくお待ちください",
		"throttle.heading":                 "ログインの失敗が続いたため、一時的に受け付けを止めています",
		"throttle.wait":                    "約%d分後に、もう一度お試しください。",
		"throttle.hint":                    "このネットワークからのログインの失敗が多すぎます。パスワードがわからないときは、管理者にお問い合わせください。",
		"throttle.to_login":                "ログイン画面へ戻る",

		"home.title":   "ホーム",
		"home.heading": "ご利用いただけるサービス",
		"home.empty":   "ご利用いただけるサービスはまだありません。必要なサービスがある場合は管理者にお問い合わせください。",

		"profile.title":               "個人情報",
		"profile.account":             "アカウント情報",
		"profile.email":               "メールアドレス（ログインID）",
		"profile.groups":              "所属グループ",
		"profile.groups_none":         "なし",
		"profile.previous_login":      "前回のログイン",
		"profile.never":               "記録なし",
		"profile.session_ip":          "接続元IPアドレス",
		"profile.session_line":        "接続回線",
		"profile.edit":                "登録情報の変更",
		"profile.display_name":        "表示名",
		"profile.phone":               "電話番号",
		"profile.mobile":              "携帯電話番号",
		"profile.organization":        "所属組織",
		"profile.department":          "部署",
		"profile.phone_hint":          "例: 03-1234-5678、+81-3-1234-5678。内線は「03-1234-5678 内線 123」のように後ろに付けられます。",
		"profile.submit":              "変更を保存",
		"profile.saved":               "個人情報を更新しました。",
		"profile.draft_restored":      "ログインの有効期限が切れる前に入力した内容を戻しました。まだ保存されていません。内容を確認して「変更を保存」を押してください。",
		"profile.errors":              "入力内容に誤りがあります。各項目のメッセージをご確認ください。",
		"profile.error.required":      "この項目は必須です。",
		"profile.error.too_long":      "入力できる文字数を超えています。",
		"profile.error.phone":         "電話番号は4〜15桁の数字で入力してください（先頭に+可。区切りはハイフン・スペース・かっこ）。内線は後ろに「内線 123」「ext. 123」「x123」の形で6桁まで付けられます。全角でも入力できます。",
		"profile.error.bidi":          "文字の表示方向を変える制御文字（RLO など）は使えません。",
		"profile.error.invisible":     "表示されない文字や空白だけでは登録できません。",
		"profile.error.invalid_chars": "使用できない文字が含まれています。",

		"logout.title":   "ログアウト",
		"logout.confirm": "ログアウトしますか?",
		"logout.submit":  "ログアウトする",
		"logout.cancel":  "キャンセル",
		"logout.done":    "ログアウトしました。",

		"nav.account": "アカウント設定",

		"account.title":                   "アカウント設定",
		"account.item.profile":            "個人情報",
		"account.item.profile_desc":       "表示名・電話番号・所属などを確認、変更します。",
		"account.item.password":           "パスワード変更",
		"account.item.password_desc":      "ログインに使うパスワードを変更します。",
		"account.item.email":              "メールアドレス変更",
		"account.item.email_desc":         "ログインIDでもあるメールアドレスを変更します。新しいアドレスに届く確認メールで変更が完了します。",
		"account.item.sessions":           "ログイン中の端末",
		"account.item.sessions_desc":      "このアカウントでログインしているブラウザや端末を確認し、心当たりのないものをログアウトさせます。",
		"sessions.title":                  "ログイン中の端末",
		"sessions.explain":                "このアカウントでログインしているブラウザや端末の一覧です。心当たりのないものがあればログアウトさせ、パスワードを変更してください。",
		"sessions.current":                "このブラウザ",
		"sessions.created":                "ログイン日時",
		"sessions.last_seen":              "最終利用",
		"sessions.ip":                     "IPアドレス",
		"sessions.browser":                "ブラウザ",
		"sessions.line":                   "回線",
		"sessions.revoke":                 "ログアウトさせる",
		"sessions.revoke_others":          "ほかのすべての端末をログアウトさせる",
		"sessions.none_others":            "ほかにログイン中の端末はありません。",
		"sessions.notice.revoked":         "選択した端末をログアウトさせました。",
		"sessions.notice.revoked_others":  "ほかのすべての端末をログアウトさせました。",
		"sessions.error.gone":             "その端末はすでにログアウトしています。一覧を更新しました。",
		"account.item.logout":             "ログアウト",
		"account.item.logout_desc":        "このブラウザからログアウトします。",
		"account.notice.password_changed": "パスワードを変更しました。ほかの端末やブラウザのログインは終了しました。",
		"account.back":                    "アカウント設定へ戻る",
		"account.login_link":              "パスワード変更、その他の設定はこちら",
		"account.error.too_many":          "短時間に何度も試行されたため、しばらく受け付けできません。15分ほど待ってから、もう一度お試しください。",
		"password.forgot.link":            "パスワードをお忘れの方はこちら",
		"password.forgot.title":           "パスワードの再設定",
		"password.forgot.explain":         "ログインに使うメールアドレスを入力してください。パスワードを再設定するためのリンクをメールでお送りします。",
		"password.forgot.submit":          "再設定用のメールを送る",
		"password.forgot.sent":            "入力されたメールアドレスが登録されている場合は、パスワード再設定用のメールを送信しました。メールが届かない場合は、アドレスに誤りがないかご確認のうえ、しばらくしてからもう一度お試しいただくか、管理者にお問い合わせください。",
		"password.forgot.error.email":     "メールアドレスの形式で入力してください（例: taro@example.co.jp）。",
		"password.forgot.again":           "再設定用のメールをもう一度送る",
		"password.back_to_login":          "ログイン画面へ戻る",
		"password.reset.title":            "新しいパスワードの設定",
		"password.reset.submit":           "パスワードを設定する",
		"password.reset.done":             "パスワードを設定しました。新しいパスワードでログインしてください。",
		"password.link.expired":           "このリンクは有効期限が切れています。お手数ですが、もう一度パスワードの再設定を申し込んでください。",
		"password.link.used":              "このリンクはすでに使われたか、無効になっています。お手数ですが、もう一度パスワードの再設定を申し込んでください。",
		"password.rule":                   "パスワードは%d文字以上で、英大文字・英小文字・数字・記号のうち%d種類以上を含めてください。メールアドレスや氏名を含むもの、よく使われるパスワードは使えません。",
		"password.new":                    "新しいパスワード",
		"password.confirm":                "新しいパスワード（確認）",
		"password.current":                "現在のパスワード",
		"password.change.title":           "パスワード変更",
		"password.change.submit":          "パスワードを変更する",
		"password.change.must":            "管理者から発行されたパスワードでログインしています。ご利用を続けるには、パスワードを変更してください。",
		"password.change.no_password":     "このアカウントはパスワードを使わずにログインしています（Google、Active Directory など）。パスワードはログイン元のサービスで変更してください。",
		"password.change.error.current":   "現在のパスワードが正しくありません。",
		"password.reason.too_short":       "パスワードが短すぎます。",
		"password.reason.too_long":        "パスワードが長すぎます（256文字まで）。",
		"password.reason.too_few_classes": "英大文字・英小文字・数字・記号の種類が足りません。",
		"password.reason.contains_email":  "メールアドレスやその一部を含むパスワードは使えません。",
		"password.reason.contains_name":   "氏名やその一部を含むパスワードは使えません。",
		"password.reason.common":          "よく使われているパスワード（またはそれに数字や記号を付けたもの）は、推測されやすいため使えません。",
		"password.reason.mismatch":        "確認用に入力したパスワードが一致しません。",
		"password.reason.same_as_current": "現在のパスワードと同じパスワードには変更できません。",
		"email.change.title":              "メールアドレス変更",
		"email.change.explain":            "新しいメールアドレスを2回入力してください。新しいアドレスに確認メールを送ります。メール内のリンクを開いて確定するまで、メールアドレスは変わりません。現在のアドレスにもお知らせを送ります。",
		"email.change.submit":             "確認メールを送る",
		"email.change.sent":               "新しいメールアドレスに確認メールを送信しました。24時間以内にメール内のリンクを開いて、変更を確定してください。",
		"email.current":                   "現在のメールアドレス",
		"email.new":                       "新しいメールアドレス",
		"email.confirm":                   "新しいメールアドレス（確認）",
		"email.error.invalid":             "メールアドレスの形式で入力してください（例: taro@example.co.jp）。",
		"email.error.mismatch":            "確認用に入力したメールアドレスが一致しません。",
		"email.error.same":                "現在と同じメールアドレスです。別のアドレスを入力してください。",
		"email.error.password":            "現在のパスワードが正しくありません。",
		"email.error.taken":               "このメールアドレスは別のアカウントで使われているため、変更できませんでした。メールアドレスは変更されていません。",
		"email.link.expired":              "このリンクは有効期限が切れています。お手数ですが、もう一度メールアドレスの変更を申し込んでください。",
		"email.link.used":                 "このリンクはすでに使われたか、無効になっています。お手数ですが、もう一度メールアドレスの変更を申し込んでください。",
		"email.confirm.title":             "メールアドレス変更の確定",
		"email.confirm.explain":           "下のボタンを押すと、ログインに使うメールアドレスの変更が確定します。",
		"email.confirm.submit":            "変更を確定する",
		"email.confirm.done":              "メールアドレスを %s に変更しました。次回からはこのアドレスでログインしてください。",

		"error.title":              "エラー",
		"error.status":             "ステータスコード %d",
		"error.request_id":         "お問い合わせ番号",
		"error.request_id_hint":    "管理者にお問い合わせの際は、この番号をお伝えください。",
		"error.home":               "ホームへ戻る",
		"error.csrf":               "フォームの有効期限が切れたか、このサイト以外から送信されました。ページを再読み込みして、もう一度お試しください。",
		"error.not_found":          "お探しのページが見つかりません。",
		"error.forbidden":          "このページを表示する権限がありません。",
		"error.method_not_allowed": "この操作は受け付けられません。",
		"error.internal":           "システムエラーが発生しました。しばらく待ってから、もう一度お試しください。",
		"error.bad_gateway":        "接続先のサービスから正しい応答がありませんでした。しばらく待ってから、もう一度お試しください。",
		"error.line_only":          "登録された回線（社内ネットワーク）からのみご利用いただけます。社内ネットワークに接続してから、もう一度お試しください。",
		"error.gateway_timeout":    "接続先のサービスが時間内に応答しませんでした。しばらく待ってから、もう一度お試しください。",
		"error.bad_request":        "リクエストの内容が正しくありません。",
		"error.store_unavailable":  "現在、変更を保存できません。しばらくしてからもう一度お試しください。",
	},
	"en": {
		"site.default_title": "Portal",
		"a11y.skip":          "Skip to main content",
		"header.account":     "Signed-in account",
		"nav.menu":           "Menu",
		"nav.home":           "Home",
		"nav.profile":        "Personal information",
		"nav.logout":         "Sign out",
		"lang.label":         "Language",
		"lang.ja":            "日本語",
		"lang.en":            "English",

		"login.title":                      "Sign in",
		"login.email":                      "Email address",
		"login.password":                   "Password",
		"login.submit":                     "Sign in",
		"login.error.invalid":              "The email address or password is incorrect.",
		"login.error.busy":                 "The service is busy right now. Please wait a moment and try again.",
		"login.error.disabled":             "This account cannot be used at the moment. Please contact your administrator.",
		"login.error.required":             "Enter your email address and password.",
		"login.username":                   "User name or email address",
		"post.title":                       "Continue to sign in",
		"post.explain":                     "You are going to the sign-in page of %s. Press Continue.",
		"post.continue":                    "Continue",
		"login.or":                         "or",
		"login.provider_unavailable":       " (temporarily unavailable)",
		"login.other_methods":              "Sign in another way",
		"login.provider":                   "Sign in with %s",
		"login.error.denied":               "Sign-in was cancelled or refused by the provider. Please try again.",
		"login.error.not_allowed":          "This account cannot sign in here. Please use your company account.",
		"login.error.invalid_response":     "The sign-in provider's answer could not be verified. Please start again.",
		"login.error.unavailable":          "The sign-in provider cannot be reached. Please wait a moment and try again.",
		"login.error.not_registered":       "This account is not registered. Please ask your administrator.",
		"login.error.expired_flow":         "The sign-in took too long. Please start again.",
		"login.error.method":               "This way of signing in is not available to you. Please use a method your administrator allows.",
		"login.error.locked":               "The account is locked. Please wait, or contact your administrator.",
		"login.error.account_disabled":     "The account is disabled. Please contact your administrator.",
		"login.error.account_expired":      "The account has expired. Please contact your administrator.",
		"login.error.password_expired":     "Your password has expired. Change it, then sign in again.",
		"login.error.must_change_password": "You must change your password before your first sign-in. Change it, then sign in again.",
		"profile.managed":                  "This field is set from your sign-in provider (%s) and cannot be changed here.",
		"login.session_ended_kept":         "Your session ended, so your changes to your personal information are not saved yet. Sign in again to return to the form with what you typed.",
		"login.session_ended":              "Your session ended, so your changes to your personal information were not saved. Sign in again and enter them once more.",
		"login.passkey":                    "Sign in with a passkey",
		"passkey.login.title":              "Sign in with a passkey",
		"passkey.login.intro":              "Sign in without a password, with a passkey saved on this computer or phone, or with a security key. Press the button and follow your device's prompts (fingerprint, face or PIN).",
		"passkey.login.submit":             "Use my passkey",
		"passkey.login.again":              "Try again",
		"passkey.login.password":           "Sign in another way (password and others)",
		"passkey.waiting":                  "Waiting for your passkey. Follow your device's prompts.",
		"passkey.cancelled":                "The passkey prompt was cancelled or timed out. Press the button to try again.",
		"passkey.failed":                   "The passkey could not be used. Try again, or sign in another way.",
		"passkey.unsupported":              "This browser does not support passkeys. Please sign in another way.",
		"passkey.noscript":                 "Passkeys need JavaScript. Turn it on in your browser, or sign in another way, such as with your password.",
		"passkey.error.invalid":            "The passkey could not be verified. Use a passkey registered with this portal, or sign in another way.",
		"passkey.error.expired":            "That took too long and must start again. Press the button to try again.",
		"lockout.login_note":               "Repeated wrong passwords lock the account. If that happens, we send you a mail that explains how to unlock it.",
		"unlock.title":                     "Unlock your account",
		"unlock.confirm":                   "Press the button below to unlock your account.",
		"unlock.submit":                    "Unlock",
		"unlock.done_heading":              "Account unlocked",
		"unlock.done":                      "Your account is unlocked. Please sign in.",
		"unlock.to_login":                  "Go to sign-in",
		"unlock.invalid_heading":           "This link cannot be used",
		"unlock.invalid":                   "The unlock link is not valid, has expired or has already been used.",
		"unlock.reset_hint":                "Resetting your password unlocks the account too.",
		"unlock.to_reset":                  "Reset your password",
		"throttle.title":                   "Please wait",
		"throttle.heading":                 "Sign-in is paused for a while after too many failed attempts",
		"throttle.wait":                    "Please try again in about %d min.",
		"throttle.hint":                    "Too many sign-ins from your network have failed. If you do not know your password, please contact your administrator.",
		"throttle.to_login":                "Back to sign-in",

		"home.title":   "Home",
		"home.heading": "Your services",
		"home.empty":   "No services are available to you yet. If you need one, please contact your administrator.",

		"profile.title":               "Personal information",
		"profile.account":             "Account",
		"profile.email":               "Email address (login ID)",
		"profile.groups":              "Groups",
		"profile.groups_none":         "None",
		"profile.previous_login":      "Previous sign-in",
		"profile.never":               "Never",
		"profile.session_ip":          "Connected from (IP address)",
		"profile.session_line":        "Network line",
		"profile.edit":                "Edit your details",
		"profile.display_name":        "Display name",
		"profile.phone":               "Phone",
		"profile.mobile":              "Mobile phone",
		"profile.organization":        "Organization",
		"profile.department":          "Department",
		"profile.phone_hint":          "For example: 03-1234-5678 or +81-3-1234-5678. An extension can follow, as in 03-1234-5678 ext. 123.",
		"profile.submit":              "Save changes",
		"profile.saved":               "Your personal information has been updated.",
		"profile.draft_restored":      "What you typed before your session ended is back in the form. It is not saved yet: check it and press Save changes.",
		"profile.errors":              "Some entries need correcting. Please check the messages below each field.",
		"profile.error.required":      "This field is required.",
		"profile.error.too_long":      "This entry is too long.",
		"profile.error.phone":         "Enter 4 to 15 digits, optionally starting with +, separated by hyphens, spaces or parentheses. An extension of up to 6 digits may follow, written 内線 123, ext. 123 or x123. Full-width characters are accepted.",
		"profile.error.bidi":          "Characters that change the direction of text (such as RLO) cannot be used.",
		"profile.error.invisible":     "This cannot be only invisible characters or spaces.",
		"profile.error.invalid_chars": "This contains characters that cannot be used.",

		"logout.title":   "Sign out",
		"logout.confirm": "Do you want to sign out?",
		"logout.submit":  "Sign out",
		"logout.cancel":  "Cancel",
		"logout.done":    "You have been signed out.",

		"nav.account": "Account settings",

		"account.title":                   "Account settings",
		"account.item.profile":            "Personal information",
		"account.item.profile_desc":       "See and change your display name, phone numbers and department.",
		"account.item.password":           "Change password",
		"account.item.password_desc":      "Change the password you sign in with.",
		"account.item.email":              "Change email address",
		"account.item.email_desc":         "Change your email address, which is also your login ID. The change is made when you open the link sent to the new address.",
		"account.item.sessions":           "Signed-in devices",
		"account.item.sessions_desc":      "See the browsers and devices signed in to this account, and sign out any you do not recognise.",
		"sessions.title":                  "Signed-in devices",
		"sessions.explain":                "These browsers and devices are signed in to your account. If you do not recognise one, sign it out and change your password.",
		"sessions.current":                "This browser",
		"sessions.created":                "Signed in",
		"sessions.last_seen":              "Last used",
		"sessions.ip":                     "IP address",
		"sessions.browser":                "Browser",
		"sessions.line":                   "Line",
		"sessions.revoke":                 "Sign out",
		"sessions.revoke_others":          "Sign out every other device",
		"sessions.none_others":            "No other device is signed in.",
		"sessions.notice.revoked":         "The device you chose has been signed out.",
		"sessions.notice.revoked_others":  "Every other device has been signed out.",
		"sessions.error.gone":             "That device was already signed out. The list is up to date.",
		"account.item.logout":             "Sign out",
		"account.item.logout_desc":        "Sign out of this browser.",
		"account.notice.password_changed": "Your password has been changed. You have been signed out on your other devices and browsers.",
		"account.back":                    "Back to account settings",
		"account.login_link":              "Change password and other settings",
		"account.error.too_many":          "Too many attempts in a short time. Please wait about 15 minutes and try again.",
		"password.forgot.link":            "Forgot your password?",
		"password.forgot.title":           "Reset your password",
		"password.forgot.explain":         "Enter the email address you sign in with. We will mail you a link to set a new password.",
		"password.forgot.submit":          "Send reset mail",
		"password.forgot.sent":            "If the address you entered is registered, a mail with a link to reset your password has been sent to it. If none arrives, check the address, try again later, or contact your administrator.",
		"password.forgot.error.email":     "Enter an email address, such as taro@example.co.jp.",
		"password.forgot.again":           "Send a new reset mail",
		"password.back_to_login":          "Back to sign in",
		"password.reset.title":            "Set a new password",
		"password.reset.submit":           "Set password",
		"password.reset.done":             "Your new password is set. Sign in with it.",
		"password.link.expired":           "This link has expired. Please ask for a new password reset.",
		"password.link.used":              "This link has been used already or is no longer valid. Please ask for a new password reset.",
		"password.rule":                   "Use at least %d characters, with at least %d of: upper-case letters, lower-case letters, digits, symbols. Passwords containing your email address or name, and commonly used passwords, are not accepted.",
		"password.new":                    "New password",
		"password.confirm":                "New password (again)",
		"password.current":                "Current password",
		"password.change.title":           "Change password",
		"password.change.submit":          "Change password",
		"password.change.must":            "You signed in with a password your administrator gave you. Change it to continue.",
		"password.change.no_password":     "This account signs in without a password (Google, Active Directory and so on). Change your password with that service.",
		"password.change.error.current":   "The current password is incorrect.",
		"password.reason.too_short":       "The password is too short.",
		"password.reason.too_long":        "The password is too long (256 characters at most).",
		"password.reason.too_few_classes": "The password needs more kinds of characters (upper case, lower case, digits, symbols).",
		"password.reason.contains_email":  "The password must not contain your email address or part of it.",
		"password.reason.contains_name":   "The password must not contain your name or part of it.",
		"password.reason.common":          "This is a commonly used password (or one with digits or symbols added), which is easy to guess.",
		"password.reason.mismatch":        "The two passwords you entered do not match.",
		"password.reason.same_as_current": "The new password must differ from the current one.",
		"email.change.title":              "Change email address",
		"email.change.explain":            "Enter the new address twice. We will mail a confirmation link to it; your address changes only when you open that link. We will also tell your current address.",
		"email.change.submit":             "Send confirmation mail",
		"email.change.sent":               "A confirmation mail has been sent to the new address. Open its link within 24 hours to complete the change.",
		"email.current":                   "Current email address",
		"email.new":                       "New email address",
		"email.confirm":                   "New email address (again)",
		"email.error.invalid":             "Enter an email address, such as taro@example.co.jp.",
		"email.error.mismatch":            "The two addresses you entered do not match.",
		"email.error.same":                "This is your current address. Enter a different one.",
		"email.error.password":            "The current password is incorrect.",
		"email.error.taken":               "This address is used by another account, so it could not be changed. Your address is unchanged.",
		"email.link.expired":              "This link has expired. Please ask for the email change again.",
		"email.link.used":                 "This link has been used already or is no longer valid. Please ask for the email change again.",
		"email.confirm.title":             "Confirm your new email address",
		"email.confirm.explain":           "Press the button to change the email address you sign in with.",
		"email.confirm.submit":            "Confirm the change",
		"email.confirm.done":              "Your email address is now %s. Sign in with it from now on.",

		"error.title":              "Error",
		"error.status":             "Status code %d",
		"error.request_id":         "Reference number",
		"error.request_id_hint":    "Please quote this number when you contact your administrator.",
		"error.home":               "Back to home",
		"error.csrf":               "This form has expired or was not sent from this site. Reload the page and try again.",
		"error.not_found":          "The page you requested could not be found.",
		"error.forbidden":          "You do not have permission to view this page.",
		"error.method_not_allowed": "This request is not accepted here.",
		"error.internal":           "Something went wrong on our side. Please wait a moment and try again.",
		"error.bad_gateway":        "The service behind this page did not answer properly. Please wait a moment and try again.",
		"error.line_only":          "This service can be used only from the registered networks. Connect to your office network and try again.",
		"error.gateway_timeout":    "The service behind this page did not answer in time. Please wait a moment and try again.",
		"error.bad_request":        "The request was not valid.",
		"error.store_unavailable":  "Your changes cannot be saved right now. Please try again in a little while.",
	},
}
