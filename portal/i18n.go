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
		"post.app_explain":                 "%sへ移動しています。自動で進まないときは「続行」を押してください。",
		"post.logout_explain":              "%sからもログアウトしています。自動で進まないときは「続行」を押してください。",
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
		"passkey.enrol.explain":            "ボタンを押すと、このパソコンやスマートフォン、またはセキュリティキーにパスキーを作成します。画面の案内（指紋・顔認証・PIN など）に従ってください。",
		"passkey.enrol.name_hint":          "あとで見分けられる名前を付けてください（例: 仕事用のiPhone、YubiKey）。",
		"passkey.enrol.submit":             "パスキーを作成する",
		"passkey.step.submit":              "パスキーで確認する",
		"passkey.exists":                   "この端末（またはセキュリティキー）のパスキーは登録済みです。別の端末で登録するか、登録済みのパスキーをお使いください。",
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
		"profile.mobile_sms":          "2段階認証でSMSを使う場合、確認コードはこの携帯電話番号に送られます。",
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

		"error.title":                       "エラー",
		"error.status":                      "ステータスコード %d",
		"error.request_id":                  "お問い合わせ番号",
		"error.request_id_hint":             "管理者にお問い合わせの際は、この番号をお伝えください。",
		"error.home":                        "ホームへ戻る",
		"error.csrf":                        "フォームの有効期限が切れたか、このサイト以外から送信されました。ページを再読み込みして、もう一度お試しください。",
		"error.not_found":                   "お探しのページが見つかりません。",
		"error.forbidden":                   "このページを表示する権限がありません。",
		"error.method_not_allowed":          "この操作は受け付けられません。",
		"error.internal":                    "システムエラーが発生しました。しばらく待ってから、もう一度お試しください。",
		"error.bad_gateway":                 "接続先のサービスから正しい応答がありませんでした。しばらく待ってから、もう一度お試しください。",
		"error.line_only":                   "登録された回線（社内ネットワーク）からのみご利用いただけます。社内ネットワークに接続してから、もう一度お試しください。",
		"error.gateway_timeout":             "接続先のサービスが時間内に応答しませんでした。しばらく待ってから、もう一度お試しください。",
		"error.bad_request":                 "リクエストの内容が正しくありません。",
		"error.store_unavailable":           "現在、変更を保存できません。しばらくしてからもう一度お試しください。",
		"error.oidc_request":                "アプリからのサインイン要求が見つからないか、有効期限が切れています。アプリに戻って、もう一度サインインしてください。",
		"error.oidc_logout":                 "アプリからのサインアウト要求が正しくありません。アプリに戻って、もう一度お試しください。",
		"account.item.twostep":              "2段階認証",
		"account.item.twostep_desc":         "ログイン時にパスワードに加えて確認コードを求める設定です。認証アプリや電話番号の登録・削除、リカバリーコードの再発行ができます。",
		"sessions.notice.browser_forgotten": "選択したブラウザの記憶を解除しました。次回のログインでは2段階認証が求められます。",
		"sessions.error.browser_gone":       "そのブラウザの記憶はすでに解除されています。一覧を更新しました。",
		"sessions.browsers.title":           "記憶しているブラウザ",
		"sessions.browsers.explain":         "2段階認証で「このブラウザを記憶する」を選んだブラウザです。最後に使ってから一定期間は確認コードの入力を省略します。心当たりのないものは解除してください。",
		"sessions.browsers.created":         "記憶した日時",
		"sessions.browsers.expires":         "有効期限",
		"sessions.browsers.forget":          "記憶を解除する",
		"twostep.title":                     "2段階認証",
		"twostep.stepup":                    "このサービスを利用するには、2段階認証が必要です。確認コードを入力してください。",
		"twostep.explain.totp":              "スマートフォンの認証アプリ（Google Authenticator、Microsoft Authenticator など）に表示されている6桁の確認コードを入力してください。",
		"twostep.explain.sms":               "登録した携帯電話番号にSMSで確認コードを送ります。「確認コードを送信」を押し、届いた6桁の確認コードを入力してください。",
		"twostep.explain.voice":             "登録した電話番号に電話をかけ、音声で確認コードをお知らせします。「確認コードを送信」を押し、聞き取った6桁の確認コードを入力してください。",
		"twostep.explain.webauthn":          "登録したパスキーまたはセキュリティキーで確認します。",
		"twostep.sent.sms":                  "%s にSMSで確認コードを送信しました。",
		"twostep.sent.voice":                "%s に電話で確認コードをお知らせしています。",
		"twostep.notice.sent":               "確認コードを送信しました。届くまで少しお待ちください。",
		"twostep.target":                    "送信先：",
		"twostep.send":                      "確認コードを送信",
		"twostep.resend":                    "確認コードを再送信",
		"twostep.code":                      "確認コード",
		"twostep.remember":                  "このブラウザを記憶する（%d日間は確認コードの入力を省略します）",
		"twostep.submit":                    "確認",
		"twostep.other_factor":              "別の方法で確認する",
		"twostep.use_recovery":              "スマートフォンを紛失した場合（リカバリーコードを使う）",
		"twostep.start_over":                "ログイン画面に戻る",
		"twostep.kind.totp":                 "認証アプリ",
		"twostep.kind.sms":                  "SMS",
		"twostep.kind.voice":                "音声通話",
		"twostep.kind.webauthn":             "パスキー・セキュリティキー",
		"twostep.recovery.title":            "リカバリーコードでログイン",
		"twostep.recovery.explain":          "2段階認証の設定時に保存したリカバリーコードを1つ入力してください。使ったコードは無効になり、新しいリカバリーコードが発行されます。",
		"twostep.recovery.code":             "リカバリーコード",
		"twostep.recovery.back":             "確認コードの入力に戻る",
		"twostep.setup.title":               "2段階認証の設定",
		"twostep.setup.explain":             "このポータルでは2段階認証が必須です。ログインを続けるには、確認コードを受け取る方法を1つ設定してください。",
		"twostep.setup.explain_stepup":      "このサービスを利用するには2段階認証が必要です。確認コードを受け取る方法を1つ設定してください。",
		"twostep.setup.finish":              "設定する",
		"twostep.setup.other":               "別の方法を選ぶ",
		"twostep.totp.scan":                 "認証アプリでこのQRコードを読み取ってください。",
		"twostep.totp.qr_alt":               "認証アプリに登録するためのQRコード",
		"twostep.totp.manual":               "QRコードを読み取れない場合は、次のキーを認証アプリに手入力してください。",
		"twostep.totp.enter":                "認証アプリに表示された6桁の確認コードを入力してください。",
		"twostep.method.sms.desc":           "携帯電話にSMSで確認コードを受け取ります。",
		"twostep.method.sms.start":          "SMSで設定する",
		"twostep.method.totp.desc":          "スマートフォンの認証アプリ（Google Authenticator、Microsoft Authenticator など）で確認コードを表示します。",
		"twostep.method.totp.start":         "認証アプリで設定する",
		"twostep.method.voice.desc":         "電話で確認コードを音声で受け取ります。固定電話でも使えます。",
		"twostep.method.voice.start":        "音声通話で設定する",
		"twostep.method.webauthn.desc":      "パスキー（スマートフォンやパソコンの生体認証）やセキュリティキーで確認します。",
		"twostep.method.webauthn.start":     "パスキーを登録する",
		"twostep.phone.sms":                 "携帯電話番号",
		"twostep.phone.voice":               "電話番号",
		"twostep.phone.mobile_note":         "SMSで受け取るには、個人情報ページに携帯電話番号を登録しておいてください（登録済みの番号をあらかじめ入力しています）。",
		"twostep.phone.profile_link":        "個人情報ページへ",
		"twostep.codes.title":               "リカバリーコード",
		"twostep.codes.renewed":             "リカバリーコードを使ったため、新しいリカバリーコードを発行しました。これまでのリカバリーコードは使えません。",
		"twostep.codes.explain":             "スマートフォンを紛失したときなど、確認コードを受け取れない場合にこのコードでログインできます。各コードは1回だけ使えます。この画面は一度しか表示されません。印刷するか、安全な場所に保存してください。",
		"twostep.codes.download":            "テキストファイルでダウンロード",
		"twostep.codes.saved":               "保存しました",
		"twostep.codes.continue":            "次へ",
		"twostep.codes.error.not_saved":     "リカバリーコードを保存したら「保存しました」にチェックを入れてください。",
		"twostep.codes.file_heading":        "%s リカバリーコード（%s）",
		"twostep.codes.file_note":           "各コードは1回だけ使えます。確認コードを受け取れないときに、ログイン画面の「リカバリーコードを使う」から入力してください。",
		"twostep.done.title":                "2段階認証を設定しました",
		"twostep.done.explain":              "次回から、新しいブラウザでのログイン時や、しばらく使っていなかったブラウザでのログイン時に確認コードの入力が求められます。",
		"twostep.done.continue":             "続ける",
		"twostep.account.title":             "2段階認証",
		"twostep.account.explain":           "ログイン時にパスワードに加えて確認コードを入力することで、パスワードが漏れても第三者がログインできないようにします。",
		"twostep.account.explain_required":  "このポータルでは2段階認証が必須です。確認コードを受け取る方法を少なくとも1つ登録しておく必要があります。",
		"twostep.account.notice.added":      "2段階認証の方法を追加しました。",
		"twostep.account.notice.removed":    "2段階認証の方法を削除しました。",
		"twostep.account.notice.renamed":    "名前を変更しました。",
		"twostep.account.notice.renewed":    "新しいリカバリーコードを発行しました。これまでのリカバリーコードは使えません。",
		"twostep.account.factors":           "登録済みの方法",
		"twostep.account.kind":              "方法",
		"twostep.account.name":              "名前（任意）",
		"twostep.account.added":             "登録日時",
		"twostep.account.last_used":         "最終利用",
		"twostep.account.rename":            "名前を変更",
		"twostep.account.remove":            "削除",
		"twostep.account.cancel":            "キャンセル",
		"twostep.account.none":              "2段階認証の方法はまだ登録されていません。",
		"twostep.account.add":               "方法を追加する",
		"twostep.account.recovery":          "リカバリーコード",
		"twostep.account.recovery_left":     "未使用のリカバリーコード：%d個",
		"twostep.account.password":          "現在のパスワード",
		"twostep.account.renew":             "リカバリーコードを再発行する",
		"twostep.account.reauth_note":       "ディレクトリ（Active Directory など）や外部サービスでログインしている場合は、5分以内にログインし直してから再発行してください。",
		"twostep.account.reauth_link":       "ログインし直す",
		"twostep.account.browsers_link":     "記憶しているブラウザを確認する",
		"twostep.account.error.reauth":      "リカバリーコードを再発行するには、ログインし直してから5分以内に操作してください。",
		"twostep.tries_left":                "あと%d回入力できます。",
		"twostep.error.wrong_code":          "確認コードが正しくありません。もう一度入力してください。",
		"twostep.error.code_used":           "この確認コードはすでに使われています。認証アプリに次の確認コードが表示されるまでお待ちください。",
		"twostep.error.too_many":            "確認コードを続けて間違えたため、このコードは無効になりました。新しい確認コードを送信してください。",
		"twostep.error.too_many_restart":    "確認コードを続けて間違えたため、ログインを中止しました。もう一度ログインしてください。",
		"twostep.error.too_many_enrol":      "確認コードを続けて間違えたため、設定を中止しました。もう一度方法を選んでください。",
		"twostep.error.code_expired":        "確認コードの有効期限が切れたか、まだ送信されていません。新しい確認コードを送信してください。",
		"twostep.error.resend_soon":         "確認コードを送信したばかりです。しばらく待ってから再送信してください。",
		"twostep.error.rate_limited":        "確認コードの入力が多すぎます。しばらく待ってから、もう一度お試しください。",
		"twostep.error.method":              "この方法は利用できません。別の方法を選んでください。",
		"twostep.error.phone":               "電話番号が正しくありません。090-1234-5678 のように入力してください。",
		"twostep.error.no_factor":           "その方法は登録されていません。一覧を更新しました。",
		"twostep.error.last_factor":         "2段階認証が必須のため、最後の1つは削除できません。先に別の方法を追加してください。",
		"twostep.error.password":            "パスワードが正しくありません。",
		"twostep.error.no_browser":          "そのブラウザの記憶はすでに解除されています。",
		"twostep.error.gone":                "ログインの有効期限が切れました。もう一度ログインしてください。",
		"twostep.error.session_ended":       "ログイン中のセッションが終了しています（ログアウトされたか、期限が切れました）。もう一度ログインしてください。",
		"twostep.error.off":                 "2段階認証はこのポータルでは利用できません。管理者にお問い合わせください。",
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
		"post.app_explain":                 "Opening %s. If nothing happens, press Continue.",
		"post.logout_explain":              "Signing you out of %s too. If nothing happens, press Continue.",
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
		"passkey.enrol.explain":            "Press the button to create a passkey on this computer or phone, or on a security key, and follow your device's prompts (fingerprint, face or PIN).",
		"passkey.enrol.name_hint":          "Give it a name you will recognise later (for example \"Work iPhone\" or \"YubiKey\").",
		"passkey.enrol.submit":             "Create the passkey",
		"passkey.step.submit":              "Verify with my passkey",
		"passkey.exists":                   "A passkey on this device (or security key) is registered already. Register on another device, or use the one you have.",
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
		"profile.mobile_sms":          "If you use SMS for 2-step verification, verification codes are sent to this mobile number.",
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

		"error.title":                       "Error",
		"error.status":                      "Status code %d",
		"error.request_id":                  "Reference number",
		"error.request_id_hint":             "Please quote this number when you contact your administrator.",
		"error.home":                        "Back to home",
		"error.csrf":                        "This form has expired or was not sent from this site. Reload the page and try again.",
		"error.not_found":                   "The page you requested could not be found.",
		"error.forbidden":                   "You do not have permission to view this page.",
		"error.method_not_allowed":          "This request is not accepted here.",
		"error.internal":                    "Something went wrong on our side. Please wait a moment and try again.",
		"error.bad_gateway":                 "The service behind this page did not answer properly. Please wait a moment and try again.",
		"error.line_only":                   "This service can be used only from the registered networks. Connect to your office network and try again.",
		"error.gateway_timeout":             "The service behind this page did not answer in time. Please wait a moment and try again.",
		"error.bad_request":                 "The request was not valid.",
		"error.store_unavailable":           "Your changes cannot be saved right now. Please try again in a little while.",
		"error.oidc_request":                "The app's sign-in request is unknown or has expired. Go back to the app and sign in again.",
		"error.oidc_logout":                 "The app's sign-out request was not valid. Go back to the app and try again.",
		"account.item.twostep":              "2-step verification",
		"account.item.twostep_desc":         "Ask for a verification code as well as your password when you sign in. Add or remove an authenticator app or phone, and make new recovery codes.",
		"sessions.notice.browser_forgotten": "The browser you chose is no longer remembered. 2-step verification will be asked there at the next sign-in.",
		"sessions.error.browser_gone":       "That browser was already forgotten. The list is up to date.",
		"sessions.browsers.title":           "Remembered browsers",
		"sessions.browsers.explain":         "Browsers where you chose \"Remember this browser\" at 2-step verification. They skip the verification code for a while after each use. Forget any you do not recognise.",
		"sessions.browsers.created":         "Remembered",
		"sessions.browsers.expires":         "Expires",
		"sessions.browsers.forget":          "Forget",
		"twostep.title":                     "2-step verification",
		"twostep.stepup":                    "This service needs 2-step verification. Enter a verification code to continue.",
		"twostep.explain.totp":              "Enter the 6-digit verification code shown in the authenticator app on your phone (Google Authenticator, Microsoft Authenticator and the like).",
		"twostep.explain.sms":               "We send a verification code by SMS to your registered mobile number. Press \"Send the code\" and enter the 6-digit code you receive.",
		"twostep.explain.voice":             "We call your registered phone number and read out a verification code. Press \"Send the code\" and enter the 6-digit code you hear.",
		"twostep.explain.webauthn":          "Verify with your registered passkey or security key.",
		"twostep.sent.sms":                  "A verification code was sent by SMS to %s.",
		"twostep.sent.voice":                "We are calling %s to read out a verification code.",
		"twostep.notice.sent":               "The verification code is on its way. Please allow a moment for it to arrive.",
		"twostep.target":                    "Send to:",
		"twostep.send":                      "Send the code",
		"twostep.resend":                    "Send a new code",
		"twostep.code":                      "Verification code",
		"twostep.remember":                  "Remember this browser (no code for %d days)",
		"twostep.submit":                    "Verify",
		"twostep.other_factor":              "Verify another way",
		"twostep.use_recovery":              "Lost your phone? Use a recovery code",
		"twostep.start_over":                "Back to sign-in",
		"twostep.kind.totp":                 "Authenticator app",
		"twostep.kind.sms":                  "SMS",
		"twostep.kind.voice":                "Voice call",
		"twostep.kind.webauthn":             "Passkey or security key",
		"twostep.recovery.title":            "Sign in with a recovery code",
		"twostep.recovery.explain":          "Enter one of the recovery codes you saved when you set up 2-step verification. The code stops working once used, and a new set of recovery codes is made.",
		"twostep.recovery.code":             "Recovery code",
		"twostep.recovery.back":             "Back to the verification code",
		"twostep.setup.title":               "Set up 2-step verification",
		"twostep.setup.explain":             "2-step verification is required on this portal. To continue signing in, set up one way to receive verification codes.",
		"twostep.setup.explain_stepup":      "This service needs 2-step verification. Set up one way to receive verification codes.",
		"twostep.setup.finish":              "Set up",
		"twostep.setup.other":               "Choose another way",
		"twostep.totp.scan":                 "Scan this QR code with your authenticator app.",
		"twostep.totp.qr_alt":               "QR code to add this account to your authenticator app",
		"twostep.totp.manual":               "If you cannot scan the QR code, type this key into your authenticator app.",
		"twostep.totp.enter":                "Enter the 6-digit verification code your authenticator app shows.",
		"twostep.method.sms.desc":           "Receive verification codes by SMS on your mobile phone.",
		"twostep.method.sms.start":          "Set up SMS",
		"twostep.method.totp.desc":          "Show verification codes in an authenticator app on your phone (Google Authenticator, Microsoft Authenticator and the like).",
		"twostep.method.totp.start":         "Set up an authenticator app",
		"twostep.method.voice.desc":         "Receive verification codes by a phone call, read aloud. Works with a landline too.",
		"twostep.method.voice.start":        "Set up voice calls",
		"twostep.method.webauthn.desc":      "Verify with a passkey (your phone's or computer's fingerprint or face unlock) or a security key.",
		"twostep.method.webauthn.start":     "Register a passkey",
		"twostep.phone.sms":                 "Mobile number",
		"twostep.phone.voice":               "Phone number",
		"twostep.phone.mobile_note":         "To receive codes by SMS, register your mobile number on the personal information page (the number registered there is filled in for you).",
		"twostep.phone.profile_link":        "Go to personal information",
		"twostep.codes.title":               "Recovery codes",
		"twostep.codes.renewed":             "Because you used a recovery code, a new set of recovery codes has been made. Your previous recovery codes no longer work.",
		"twostep.codes.explain":             "If you cannot receive verification codes, for example because you lost your phone, you can sign in with one of these codes. Each code works once. This page is shown only once: print the codes or save them somewhere safe.",
		"twostep.codes.download":            "Download as a text file",
		"twostep.codes.saved":               "I saved them",
		"twostep.codes.continue":            "Continue",
		"twostep.codes.error.not_saved":     "When you have saved your recovery codes, tick \"I saved them\".",
		"twostep.codes.file_heading":        "%s recovery codes (%s)",
		"twostep.codes.file_note":           "Each code works once. If you cannot receive a verification code, choose \"Use a recovery code\" when you sign in and enter one.",
		"twostep.done.title":                "2-step verification is set up",
		"twostep.done.explain":              "From now on, a verification code is asked when you sign in from a new browser, or from a browser you have not used for a while.",
		"twostep.done.continue":             "Continue",
		"twostep.account.title":             "2-step verification",
		"twostep.account.explain":           "With a verification code asked as well as your password, nobody else can sign in even if your password leaks.",
		"twostep.account.explain_required":  "2-step verification is required on this portal: keep at least one way to receive verification codes registered.",
		"twostep.account.notice.added":      "The 2-step verification method has been added.",
		"twostep.account.notice.removed":    "The 2-step verification method has been removed.",
		"twostep.account.notice.renamed":    "The name has been changed.",
		"twostep.account.notice.renewed":    "New recovery codes have been made. Your previous recovery codes no longer work.",
		"twostep.account.factors":           "Registered methods",
		"twostep.account.kind":              "Method",
		"twostep.account.name":              "Name (optional)",
		"twostep.account.added":             "Added",
		"twostep.account.last_used":         "Last used",
		"twostep.account.rename":            "Rename",
		"twostep.account.remove":            "Remove",
		"twostep.account.cancel":            "Cancel",
		"twostep.account.none":              "No 2-step verification method is registered yet.",
		"twostep.account.add":               "Add a method",
		"twostep.account.recovery":          "Recovery codes",
		"twostep.account.recovery_left":     "Unused recovery codes: %d",
		"twostep.account.password":          "Current password",
		"twostep.account.renew":             "Make new recovery codes",
		"twostep.account.reauth_note":       "If you sign in through a directory (Active Directory and the like) or another service, sign in again and make new codes within 5 minutes.",
		"twostep.account.reauth_link":       "Sign in again",
		"twostep.account.browsers_link":     "See remembered browsers",
		"twostep.account.error.reauth":      "To make new recovery codes, sign in again and do it within 5 minutes.",
		"twostep.tries_left":                "You have %d tries left.",
		"twostep.error.wrong_code":          "The verification code is not correct. Please enter it again.",
		"twostep.error.code_used":           "This verification code was used already. Wait for your authenticator app to show the next one.",
		"twostep.error.too_many":            "Too many wrong codes: this code no longer works. Send a new verification code.",
		"twostep.error.too_many_restart":    "Too many wrong codes: the sign-in was stopped. Please sign in again.",
		"twostep.error.too_many_enrol":      "Too many wrong codes: the set-up was stopped. Please choose a method again.",
		"twostep.error.code_expired":        "The verification code has expired or has not been sent yet. Send a new verification code.",
		"twostep.error.resend_soon":         "A code was sent a moment ago. Please wait a little before sending another.",
		"twostep.error.rate_limited":        "Too many codes were entered. Please wait a while and try again.",
		"twostep.error.method":              "This method is not available. Please choose another.",
		"twostep.error.phone":               "The phone number is not valid. Enter it like 090-1234-5678.",
		"twostep.error.no_factor":           "That method is not registered. The list is up to date.",
		"twostep.error.last_factor":         "2-step verification is required, so the last method cannot be removed. Add another method first.",
		"twostep.error.password":            "The password is not correct.",
		"twostep.error.no_browser":          "That browser was already forgotten.",
		"twostep.error.gone":                "Your sign-in has expired. Please sign in again.",
		"twostep.error.session_ended":       "Your session has ended (signed out or expired). Please sign in again.",
		"twostep.error.off":                 "2-step verification is not available on this portal. Please contact your administrator.",
	},
}
