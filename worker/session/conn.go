package session

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/minis-gg/studio-worker/worker/protocol"
)

// conn is one WebSocket connection. gorilla allows one concurrent writer, so
// every data frame goes through send under writeMu; control frames use
// WriteControl, which gorilla allows concurrently.
type conn struct {
	ws      *websocket.Conn
	sched   Schedule
	writeMu sync.Mutex
}

// dial opens the session socket with the Bearer token and sub-protocol. A 401
// on the upgrade is an auth failure; anything else is a recoverable error.
func dial(ctx context.Context, dialer *websocket.Dialer, baseURL string, creds Credentials, sched Schedule) (*conn, error) {
	u, err := protocol.WebSocketURL(baseURL, creds.WorkerID)
	if err != nil {
		return nil, &FatalError{Reason: err.Error()}
	}
	ctx, cancel := context.WithTimeout(ctx, sched.ConnectTimeout)
	defer cancel()
	d := *dialer
	d.Subprotocols = []string{protocol.Subprotocol}
	d.HandshakeTimeout = sched.ConnectTimeout
	h := http.Header{"Authorization": []string{"Bearer " + creds.AuthToken}}
	ws, resp, err := d.DialContext(ctx, u.String(), h)
	if resp != nil && resp.Body != nil {
		resp.Body.Close()
	}
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			return nil, &AuthFailedError{Reason: "401 on websocket upgrade"}
		}
		if resp != nil {
			return nil, &disconnectError{op: "connect", err: fmt.Errorf("upgrade answered %s", resp.Status)}
		}
		if ctx.Err() != nil && errors.Is(err, context.DeadlineExceeded) {
			return nil, &disconnectError{op: "connect", err: fmt.Errorf("timed out after %s", sched.ConnectTimeout)}
		}
		return nil, &disconnectError{op: "connect", err: err}
	}
	ws.SetReadLimit(protocol.MaxFrameBytes)
	return &conn{ws: ws, sched: sched}, nil
}

func (c *conn) send(f protocol.WorkerFrame) error {
	b, err := protocol.Encode(f)
	if err != nil {
		return err
	}
	return c.sendEncoded(f.FrameType(), b)
}

// sendEncoded writes a frame already encoded with protocol.Encode.
func (c *conn) sendEncoded(typ string, b []byte) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	_ = c.ws.SetWriteDeadline(time.Now().Add(c.sched.WriteTimeout))
	if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		return fmt.Errorf("send %s: %w", typ, err)
	}
	return nil
}

// closeNormally starts the close handshake with 1000 and the reason.
func (c *conn) closeNormally(reason string) {
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, reason)
	_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(c.sched.CloseTimeout))
}

// inbound is what the reader hands to the session loop: one decoded frame, or
// the error that ended reading (err is then final).
type inbound struct {
	frame protocol.ServerFrame
	err   error // decode error for this frame (frame may be a partial offer)
	end   error // reading stopped
}

// readLoop reads until the socket fails, delivering frames on out. Any frame,
// ping included, pushes the read-idle deadline forward: a socket the studio
// has silently dropped is noticed within ReadIdleTimeout.
func (c *conn) readLoop(ctx context.Context, out chan<- inbound) {
	extend := func() { _ = c.ws.SetReadDeadline(time.Now().Add(c.sched.ReadIdleTimeout)) }
	c.ws.SetPingHandler(func(data string) error {
		extend()
		err := c.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.sched.WriteTimeout))
		if errors.Is(err, websocket.ErrCloseSent) {
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil
		}
		return err
	})
	c.ws.SetPongHandler(func(string) error { extend(); return nil })
	deliver := func(in inbound) bool {
		select {
		case out <- in:
			return true
		case <-ctx.Done():
			return false
		}
	}
	for {
		extend()
		typ, data, err := c.ws.ReadMessage()
		if err != nil {
			deliver(inbound{end: classifyReadError(err, c.sched)})
			return
		}
		if typ != websocket.TextMessage {
			deliver(inbound{end: &disconnectError{op: "read", err: fmt.Errorf("protocol error: unexpected binary frame (%d bytes)", len(data))}})
			return
		}
		f, err := protocol.DecodeServer(data)
		if !deliver(inbound{frame: f, err: err}) {
			return
		}
	}
}

func classifyReadError(err error, sched Schedule) error {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		reason := fmt.Sprintf("server closed %d: %s", ce.Code, ce.Text)
		switch protocol.CloseCode(ce.Code) {
		case protocol.CloseAuthFailed:
			return &AuthFailedError{Reason: reason}
		case protocol.CloseProtocolViolation, protocol.CloseDuplicateWorker, protocol.CloseWorkerDeleted:
			return &FatalError{Reason: reason}
		}
		return &disconnectError{op: "read", err: errors.New(reason)}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return &disconnectError{op: "read", err: fmt.Errorf("no frame from the studio for %s", sched.ReadIdleTimeout)}
	}
	if errors.Is(err, websocket.ErrReadLimit) {
		return &disconnectError{op: "read", err: fmt.Errorf("frame larger than %d bytes", protocol.MaxFrameBytes)}
	}
	return &disconnectError{op: "read", err: err}
}
