package pacificasim

import (
	"context"
	"io"
	"net/http"
	"strings"
)

// maxCartRequest bounds the body of a cart request.
const maxCartRequest = 16 << 20

// CartdHandler returns cartd: POST, HEAD, GET and DELETE on /<cart uid> (as pacifica-cartd answers).
func (s *Sim) CartdHandler() http.Handler {
	return s.withFaults(ServiceCartd, http.HandlerFunc(s.serveCartd))
}

func (s *Sim) serveCartd(w http.ResponseWriter, r *http.Request) {
	uid := strings.TrimPrefix(r.URL.Path, "/")
	if uid == "" {
		if r.Method == http.MethodGet {
			writeJSON(w, http.StatusOK, map[string]string{"message": "Pacifica Cartd Interface Up and Running"})
			return
		}
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
		return
	}
	if strings.Contains(uid, "/") {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	switch r.Method {
	case http.MethodPost:
		s.createCart(w, r, uid)
	case http.MethodHead:
		s.cartStatus(w, uid)
	case http.MethodGet:
		s.downloadCart(w, r, uid)
	case http.MethodDelete:
		s.deleteCart(w, uid)
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed")
	}
}

func (s *Sim) createCart(w http.ResponseWriter, r *http.Request, uid string) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxCartRequest))
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	files, err := parseCartRequest(body)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	c := &cart{uid: uid, files: files, status: cartStaging, created: s.now()}
	s.mu.Lock()
	s.carts[uid] = c // the newest cart of a uid wins
	stuck := s.cartOverride.Stuck
	s.mu.Unlock()
	s.log.Info("cartd: cart created", "cart", uid, "files", len(files), "stuck", stuck)
	if stuck {
		writeJSON(w, http.StatusCreated, map[string]string{"message": "Cart Processing has begun"})
		return
	}
	s.goBackground(func(ctx context.Context) {
		if !sleep(ctx, s.cfg.StagingDelay) {
			return
		}
		status, msg := s.stageCart(c)
		s.mu.Lock()
		c.status, c.message = status, msg
		s.mu.Unlock()
		s.log.Info("cartd: cart staged", "cart", uid, "status", status, "message", msg)
	})
	writeJSON(w, http.StatusCreated, map[string]string{"message": "Cart Processing has begun"})
}

// currentCart returns the newest cart of uid and its state.
func (s *Sim) currentCart(uid string) (c *cart, status, message string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c = s.carts[uid]
	if c == nil {
		return nil, "", ""
	}
	return c, c.status, c.message
}

func (s *Sim) cartStatus(w http.ResponseWriter, uid string) {
	c, status, msg := s.currentCart(uid)
	code := http.StatusNoContent
	switch {
	case c == nil:
		status, msg, code = cartError, "No cart with uid "+uid+" found", http.StatusNotFound
	case status == cartError:
		code = http.StatusInternalServerError
	}
	w.Header().Set("X-Pacifica-Status", status)
	w.Header().Set("X-Pacifica-Message", msg)
	w.WriteHeader(code)
}

func (s *Sim) deleteCart(w http.ResponseWriter, uid string) {
	s.mu.Lock()
	_, ok := s.carts[uid]
	delete(s.carts, uid)
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"message": "Cart Deleted Successfully"})
}

func (s *Sim) downloadCart(w http.ResponseWriter, r *http.Request, uid string) {
	name := r.URL.Query().Get("filename")
	if !r.URL.Query().Has("filename") {
		name = "data_" + s.now().Format("2006_01_02_15_04_05") + ".tar"
	}
	c, status, _ := s.currentCart(uid)
	switch {
	case c == nil:
		writeError(w, http.StatusNotFound, "The cart does not exist or has already been deleted")
		return
	case status != cartReady: // cartd answers the same for a cart in error
		writeText(w, http.StatusAccepted, "The cart is not ready for download.")
		return
	}
	top := strings.ReplaceAll(name, ".tar", "")
	if top == "" || top == "." || top == ".." || strings.ContainsAny(top, `/\`) {
		writeError(w, http.StatusInternalServerError, "invalid filename "+name)
		return
	}
	entries, err := s.cartEntries(c)
	if err != nil {
		writeError(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", "attachment; filename="+name)
	w.WriteHeader(http.StatusOK)
	if o := s.currentCartOverride(); o.Tar != nil {
		if err := o.Tar(w, cartContent(top, entries)); err != nil {
			s.log.Warn("cartd: crafted download cut short", "cart", uid, "error", err)
		}
		return
	}
	if err := writeCartTar(w, top, entries, s.now()); err != nil {
		s.log.Warn("cartd: download cut short", "cart", uid, "error", err)
	}
}
