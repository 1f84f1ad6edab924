package mail

import (
	"strings"
	"testing"

	"github.com/authd/authd/domain"
)

// linkKinds carry an action link; the others are notices.
var linkKinds = map[domain.MailKind]bool{
	domain.MailVerifyEmail: true, domain.MailResetPassword: true, domain.MailConfirmEmailChange: true,
}

func TestEveryKindRenders(t *testing.T) {
	if templatesErr != nil {
		t.Fatal(templatesErr)
	}
	for _, k := range domain.MailKinds {
		t.Run(string(k), func(t *testing.T) {
			m := testMail(k)
			if !linkKinds[k] {
				m.Link = ""
			}
			if k == domain.MailEmailChanged {
				m.Detail = domain.MaskEmail("ada.lovelace@example.org")
			}
			msg, err := render(m, DefaultFrom, "authd")
			if err != nil {
				t.Fatalf("render: %v", err)
			}
			if msg.Subject == "" || strings.ContainsAny(msg.Subject, "\r\n") || !strings.Contains(msg.Subject, "authd") {
				t.Errorf("subject %q", msg.Subject)
			}
			if msg.MessageID != string(m.ID)+"@authd" || msg.To != m.To || msg.From != DefaultFrom {
				t.Errorf("headers %+v", msg)
			}
			if !strings.HasSuffix(msg.Text, "\n") || strings.Contains(msg.Text, "\r") || strings.Contains(msg.Text, "<no value>") {
				t.Errorf("text part:\n%s", msg.Text)
			}
			if !strings.Contains(msg.Text, "wasn't you") && !strings.Contains(msg.Text, "did not") {
				t.Errorf("the text does not say what to do if it wasn't you:\n%s", msg.Text)
			}
			if linkKinds[k] {
				if !hasLine(msg.Text, testLink) {
					t.Errorf("the link is not verbatim on a line of its own:\n%s", msg.Text)
				}
				if !strings.Contains(msg.HTML, `href="`+strings.ReplaceAll(testLink, "&", "&amp;")+`"`) {
					t.Errorf("the HTML has no link:\n%s", msg.HTML)
				}
			}
			switch k {
			case domain.MailEmailChanged:
				if !strings.Contains(msg.Text, "a***********@example.org") || !strings.Contains(msg.HTML, "a***********@example.org") {
					t.Errorf("the masked new address is missing:\n%s", msg.Text)
				}
			case domain.MailFactorAdded, domain.MailFactorRemoved:
				if !strings.Contains(msg.Text, "authenticator app (TOTP)") || !strings.Contains(msg.HTML, "authenticator app (TOTP)") {
					t.Errorf("the factor is missing:\n%s", msg.Text)
				}
			}
			for _, want := range []string{"<!DOCTYPE html>", "<title>" + msg.Subject + "</title>", "authd"} {
				if !strings.Contains(msg.HTML, want) {
					t.Errorf("the HTML lacks %q:\n%s", want, msg.HTML)
				}
			}
		})
	}
}

func TestRenderEscapesHTML(t *testing.T) {
	for _, k := range domain.MailKinds {
		m := testMail(k)
		m.Detail = `<script>alert(1)</script>`
		m.To = `"<b>x</b>"@example.com`
		msg, err := render(m, DefaultFrom, `Ada & <i>Co</i>`)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		for _, raw := range []string{"<i>", "<script>", "<b>"} {
			if strings.Contains(msg.HTML, raw) {
				t.Errorf("%s: the HTML holds %q unescaped:\n%s", k, raw, msg.HTML)
			}
		}
		if !strings.Contains(msg.HTML, "Ada &amp; &lt;i&gt;Co&lt;/i&gt;") {
			t.Errorf("%s: the product name is not escaped:\n%s", k, msg.HTML)
		}
		// The text part is plain text: nothing is escaped there.
		if !strings.Contains(msg.Text, "Ada & <i>Co</i>") {
			t.Errorf("%s: the text part altered the product name:\n%s", k, msg.Text)
		}
	}
	// A link that is not http(s) never becomes a live href.
	m := testMail(domain.MailVerifyEmail)
	m.Link = "javascript:alert(1)"
	msg, err := render(m, DefaultFrom, "authd")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(msg.HTML, `href="javascript:`) {
		t.Errorf("javascript: link in an href:\n%s", msg.HTML)
	}
}

func TestRenderRefusesIncompleteMail(t *testing.T) {
	for name, tt := range map[string]struct {
		m    domain.Mail
		want string
	}{
		"link kind without link": {func() domain.Mail { m := testMail(domain.MailResetPassword); m.Link = ""; return m }(), "no link"},
		"new address missing":    {func() domain.Mail { m := testMail(domain.MailEmailChanged); m.Detail = ""; return m }(), "no new address"},
		"factor missing":         {func() domain.Mail { m := testMail(domain.MailFactorRemoved); m.Detail = ""; return m }(), "no factor"},
		"unknown kind":           {testMail("welcome"), `no templates for kind "welcome"`},
		"no recipient":           {func() domain.Mail { m := testMail(domain.MailVerifyEmail); m.To = ""; return m }(), "no recipient"},
		"ID unfit for a header":  {func() domain.Mail { m := testMail(domain.MailVerifyEmail); m.ID = "a>b"; return m }(), "letters, digits and dashes"},
	} {
		_, err := render(tt.m, DefaultFrom, "authd")
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want one with %q", name, err, tt.want)
		}
		if err != nil && strings.Contains(err.Error(), testLink) {
			t.Errorf("%s: the error shows the link: %v", name, err)
		}
	}
}
