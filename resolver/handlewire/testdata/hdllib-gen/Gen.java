// Writes golden files for resolver/handlewire's credential tests with hdllib 7.3.1:
// the Handle encoding of a public key (Util.getBytesFromPublicKey) and a resolution
// response signed with AbstractMessage.signMessage, as Encoder encodes it.
// usage (from testdata/):
//   openssl pkcs8 -topk8 -nocrypt -in test-only-rsa-key.pem -outform DER -out /tmp/k.der
//   CP=/work/shared/handle-client/lib/handle.jar:/work/shared/handle-client/lib/cnriutil.jar
//   javac -cp $CP -d /tmp hdllib-gen/Gen.java && java -cp /tmp:$CP Gen /tmp/k.der .
// The RSA signatures are deterministic (PKCS #1 v1.5); the DSA key and signature are new each run.
import java.io.*;
import java.nio.file.*;
import java.security.*;
import java.security.spec.*;
import java.security.interfaces.*;
import net.handle.hdllib.*;

public class Gen {
  public static void main(String[] a) throws Exception {
    byte[] der = Files.readAllBytes(Paths.get(a[0]));
    Path out = Paths.get(a[1]);
    RSAPrivateCrtKey priv = (RSAPrivateCrtKey) KeyFactory.getInstance("RSA").generatePrivate(new PKCS8EncodedKeySpec(der));
    PublicKey pub = KeyFactory.getInstance("RSA").generatePublic(new RSAPublicKeySpec(priv.getModulus(), priv.getPublicExponent()));
    Files.write(out.resolve("hdllib-rsa-pubkey.bin"), Util.getBytesFromPublicKey(pub));
    Files.write(out.resolve("hdllib-signed-rsa-2.5.bin"), signed(priv, "SHA1withRSA", 2, 5));
    Files.write(out.resolve("hdllib-signed-rsa-2.1.bin"), signed(priv, "SHA1withRSA", 2, 1));

    KeyPairGenerator g = KeyPairGenerator.getInstance("DSA");
    g.initialize(1024);
    KeyPair dsa = g.generateKeyPair();
    Files.write(out.resolve("hdllib-dsa-pubkey.bin"), Util.getBytesFromPublicKey(dsa.getPublic()));
    Files.write(out.resolve("hdllib-signed-dsa-2.5.bin"), signed(dsa.getPrivate(), "SHA1withDSA", 2, 5));
  }

  static byte[] signed(PrivateKey k, String alg, int maj, int min) throws Exception {
    HandleValue v1 = new HandleValue(1, Util.encodeString("URL"), Util.encodeString("https://parts.example.com/88.100.1/PUMP-0042"));
    HandleValue v2 = new HandleValue(2, Util.encodeString("manufacturer"), Util.encodeString("ACME Pumps GmbH"));
    v1.setTimestamp(1700000000); v2.setTimestamp(1700000000);
    ResolutionResponse r = new ResolutionResponse(Util.encodeString("88.100.1/PUMP-0042"),
        new byte[][] { Encoder.encodeHandleValue(v1), Encoder.encodeHandleValue(v2) });
    r.majorProtocolVersion = (byte) maj;
    r.minorProtocolVersion = (byte) min;
    r.requestId = 42;
    r.expiration = 2000000000;
    r.certify = true;
    Signature s = Signature.getInstance(alg);
    s.initSign(k);
    r.signMessage(s);
    return r.getEncodedMessage();
  }
}
