package application_test

import (
	"context"
	"errors"
	"testing"

	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

// Passwords are normalised to NFKC before hashing (NIST SP 800-63B
// 5.1.1.2): one password however the keyboard composed it.
func TestPasswordsAreNormalisedNFKC(t *testing.T) {
	f := newFixture(t)
	const fullWidth = "ｃｏｒｒｅｃｔ　ｈｏｒｓｅ１" // full-width letters, ideographic space
	u := f.register(t, "ada@example.com", fullWidth)
	if got := f.passwordHash(t, u.ID()); got != "fake$correct horse1" {
		t.Fatalf("stored hash %q, want one of the NFKC form", got)
	}
	f.login(t, "ada@example.com", "correct horse1")
	f.login(t, "ada@example.com", fullWidth)
	// Precomposed and combining accents are one password too.
	f.register(t, "grace@example.com", "caf\u00e9 au lait")
	f.login(t, "grace@example.com", "cafe\u0301 au lait")
}

// An account whose hash was made from the password as typed, before
// normalisation, still signs in with it, and its hash moves to the
// normalised form.
func TestRawFormHashStillSignsInAndIsRehashed(t *testing.T) {
	f := newFixture(t)
	const typed = "ｃｏｒｒｅｃｔ　ｈｏｒｓｅ１"
	u := f.register(t, "ada@example.com", "placeholder password")
	f.setPasswordHash(t, u.ID(), "fake$"+typed) // as an older authd stored it
	f.login(t, "ada@example.com", typed)
	if got := f.passwordHash(t, u.ID()); got != "fake$correct horse1" {
		t.Fatalf("hash after the sign-in = %q, want the normalised form's", got)
	}
	f.login(t, "ada@example.com", "correct horse1")
	// A wrong password typed in a non-normalised form costs two checks,
	// like an unknown email does, so timing tells nothing.
	before := f.hasher.verifies.Load()
	_, err := f.logins.Login(context.Background(), signin.LoginInput{Email: "ada@example.com", Password: "ｗｒｏｎｇ"})
	if !errors.Is(err, domain.ErrInvalidCredentials) || f.hasher.verifies.Load()-before != 2 {
		t.Fatalf("wrong full-width password: %v after %d verifies", err, f.hasher.verifies.Load()-before)
	}
	before = f.hasher.verifies.Load()
	_, err = f.logins.Login(context.Background(), signin.LoginInput{Email: "nobody@example.com", Password: "ｗｒｏｎｇ"})
	if !errors.Is(err, domain.ErrInvalidCredentials) || f.hasher.verifies.Load()-before != 2 {
		t.Fatalf("unknown email, full-width password: %v after %d verifies", err, f.hasher.verifies.Load()-before)
	}
}

// A decoder turns bytes that are not UTF-8 into U+FFFD; a password holding
// it has lost characters, so sign-up refuses it rather than hashing a
// collision.
func TestPasswordWithReplacementCharacterRefused(t *testing.T) {
	f := newFixture(t)
	_, err := f.registration.Register(context.Background(), account.RegisterInput{Email: "ada@example.com", Password: "\ufffd\ufffd\ufffdabcdefgh"})
	if codes := fieldCodes(t, err); codes["password"] != domain.CodeInvalid {
		t.Fatalf("codes = %v, want password invalid", codes)
	}
}

// One person, one account: spellings of one address are one key.
func TestRegisterSpellingsOfOneAddress(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ädä@exämple.com", "correct horse")
	for _, spelling := range []string{"a\u0308da\u0308@exa\u0308mple.com", "ädä@xn--exmple-cua.com", "ÄDÄ@Exämple.com"} {
		_, err := f.registration.Register(context.Background(), account.RegisterInput{Email: spelling, Password: "correct horse"})
		if !errors.Is(err, domain.ErrEmailTaken) {
			t.Errorf("register %q = %v, want ErrEmailTaken", spelling, err)
		}
		f.login(t, spelling, "correct horse")
	}
	_, err := f.registration.Register(context.Background(), account.RegisterInput{Email: "b\u043eb@example.com", Password: "correct horse"})
	if codes := fieldCodes(t, err); codes["email"] != domain.CodeInvalid {
		t.Fatalf("Cyrillic о among Latin letters: %v", err)
	}
}
