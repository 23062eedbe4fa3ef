// A Java client for tlsfix check-client, compiled by the tests: the JVM resolves names itself
// (through /etc/hosts), never through nss_wrapper.
//
//   java -cp DIR JavaClient CAFILE URL            trusts CAFILE alone, as a careful client does
//   java -cp DIR JavaClient CAFILE URL insecure   trusts anything, checks no name: must be caught
//
// Java's PKIX does not support a trust anchor's name constraints at all (a TrustAnchor given them
// fails with "name constraints in trust anchor not supported"), so even the careful client
// accepts the catalog's outside-constraints entry: to a JVM, the tlsfix root can vouch for any
// name.
import java.io.FileInputStream;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.time.Duration;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;
import javax.net.ssl.X509TrustManager;

public class JavaClient {
  public static void main(String[] args) throws Exception {
    SSLContext context = SSLContext.getInstance("TLS");
    if (args.length > 2 && args[2].equals("insecure")) {
      System.setProperty("jdk.internal.httpclient.disableHostnameVerification", "true");
      TrustManager anything = new X509TrustManager() {
        public void checkClientTrusted(X509Certificate[] chain, String type) {}
        public void checkServerTrusted(X509Certificate[] chain, String type) {}
        public X509Certificate[] getAcceptedIssuers() { return new X509Certificate[0]; }
      };
      context.init(null, new TrustManager[] {anything}, null);
    } else {
      KeyStore roots = KeyStore.getInstance(KeyStore.getDefaultType());
      roots.load(null, null);
      try (InputStream in = new FileInputStream(args[0])) {
        roots.setCertificateEntry("ca", CertificateFactory.getInstance("X.509").generateCertificate(in));
      }
      TrustManagerFactory factory = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      factory.init(roots);
      context.init(null, factory.getTrustManagers(), null);
    }
    HttpClient client = HttpClient.newBuilder().sslContext(context).connectTimeout(Duration.ofSeconds(10)).build();
    HttpRequest request = HttpRequest.newBuilder(URI.create(args[1])).timeout(Duration.ofSeconds(10)).build();
    System.out.print(client.send(request, HttpResponse.BodyHandlers.ofString()).body());
  }
}
