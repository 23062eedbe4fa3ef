// A Go client for tlsfix check-client and run, built static (CGO_ENABLED=0) by the tests, so that
// it uses Go's own resolver and reads /etc/hosts and resolv.conf itself, never nss_wrapper.
//
//	go-client CAFILE URL            verifies against CAFILE alone, as a careful Go client does
//	go-client CAFILE URL insecure   InsecureSkipVerify: the broken variant the check must catch
//	go-client - URL                 the system roots (x509.SystemCertPool)
package main

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func main() {
	config := &tls.Config{InsecureSkipVerify: len(os.Args) > 3 && os.Args[3] == "insecure"}
	if os.Args[1] != "-" {
		pem, err := os.ReadFile(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		config.RootCAs = x509.NewCertPool()
		config.RootCAs.AppendCertsFromPEM(pem)
	}
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: config}}
	resp, err := client.Get(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	io.Copy(os.Stdout, resp.Body)
}
