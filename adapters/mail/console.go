package mail

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/authd/authd/domain"
)

const consoleDescription = "console (mail is printed, not sent)"

// Console is the development mailer: it prints each mail's headers and
// text part, link included, to a writer instead of sending it. Never use
// it where the output is kept or shared: the links are secrets.
type Console struct {
	from, product string
	mu            sync.Mutex // one mail at a time, never interleaved
	w             io.Writer
}

// NewConsole returns a console mailer writing to w; cfg.URL is ignored.
func NewConsole(cfg Config, w io.Writer) (*Console, error) {
	if templatesErr != nil {
		return nil, templatesErr
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &Console{from: cfg.From, product: cfg.Product, w: w}, nil
}

// Send prints m. A mail that cannot be rendered is a permanent error.
func (c *Console) Send(ctx context.Context, m domain.Mail) error {
	if err := ctx.Err(); err != nil {
		return &deliveryError{msg: fmt.Sprintf("mail %s: %v", m.ID, err), err: err}
	}
	msg, err := render(m, c.from, c.product)
	if err != nil {
		return permanent(err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err = fmt.Fprintf(c.w, "----- mail (console mailer: printed, not sent) -----\n"+
		"Message-ID: <%s>\nDate: %s\nFrom: %s\nTo: %s\nSubject: %s\n\n%s"+
		"----- end of mail -----\n",
		msg.MessageID, time.Now().Format(time.RFC1123Z), msg.From, msg.To, msg.Subject, msg.Text)
	if err != nil {
		return &deliveryError{msg: fmt.Sprintf("mail %s: printing it: %v", m.ID, err), err: err}
	}
	return nil
}

// String describes the mailer for a log line.
func (c *Console) String() string { return consoleDescription }
