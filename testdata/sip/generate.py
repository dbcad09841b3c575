#!/usr/bin/env python3
"""Writes the SIP corpus: one message per file, CRLF line ends unless a case says otherwise.

Run from anywhere: `python3 testdata/sip/generate.py`. The files are committed; this script
exists so that line ends and Content-Length values are exact. Messages are written in the
style of RFC 4475 / RFC 5118 test cases and of what common servers send; see README.md.
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = {}


def case(path, head, body=b"", content_length="auto", line_end="\r\n", trailer=b""):
    """`head` lists header lines with '\n'; `{CL}` becomes the body length."""
    if isinstance(body, str):
        body = body.replace("\n", "\r\n").encode("utf-8")
    cl = str(len(body)) if content_length == "auto" else content_length
    text = head.strip("\n").replace("{CL}", cl)
    data = (text.replace("\n", line_end) + line_end + line_end).encode("utf-8", "surrogateescape") + body + trailer
    CASES[path] = data


SDP = """v=0
o=mhandley 29739 7272939 IN IP4 192.0.2.3
s=-
c=IN IP4 192.0.2.4
t=0 0
m=audio 49217 RTP/AVP 0 12
m=video 3227 RTP/AVP 31
a=rtpmap:31 LPC
"""

# ---------------------------------------------------------------- RFC 4475 §3.1.1: valid

case("valid/rfc4475-wsinv.sip", """
INVITE sip:vivekg@chair-dnrc.example.com;unknownparam SIP/2.0
TO :
 sip:vivekg@chair-dnrc.example.com ;   tag    = 1918181833n
from   : "J Rosenberg \\\\\\""       <sip:jdrosen@example.com>
  ;
  tag = 98asjd8
MaX-fOrWaRdS: 0068
Call-ID: wsinv.ndaksdj@192.0.2.1
Content-Length   : {CL}
cseq: 0009
  INVITE
Via  : SIP  /   2.0
 /UDP
    192.0.2.2;branch=390skdjuw
s :
NewFangledHeader:   newfangled value
 continued newfangled value
UnknownHeaderWithUnusualValue: ;;,,;;,;
Content-Type: application/sdp
Route:
 <sip:services.example.com;lr;unknownwith=value;unknown-no-value>
v:  SIP  / 2.0  / TCP     spindle.example.com   ;
  branch  =   z9hG4bK9ikj8  ,
 SIP  /    2.0   / UDP  192.168.255.111   ; branch=
 z9hG4bK30239
m:"Quoted string \\"\\"" <sip:jdrosen@example.com> ; newparam =
      newvalue ;
  secondparam ; q = 0.33
""", SDP)

case("valid/rfc4475-intmeth.sip", """
!interesting-Method0123456789_*+`.%indeed'~ sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*:&it+has=1,weird!*pas$wo~d_too.(doesn't-it)@example.com SIP/2.0
Via: SIP/2.0/TCP host1.example.com;branch=z9hG4bK-.!%66*_+`'~
To: "BEL:\\\x07 NUL:\\\x00 DEL:\\\x7f" <sip:1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*@example.com>
From: token1~` token2'+_ token3*%!.- <sip:mundane@example.com>;fromParam''~+*_!.-%="работающий";tag=_token~1'+`*%!-.
Call-ID: intmeth.word%ZK-!.*_+'@word`~)(><:\\/"][?}{
CSeq: 139122385 !interesting-Method0123456789_*+`.%indeed'~
Max-Forwards: 255
extensionHeader-!.%*+_`'~:\ufeff大停電
Content-Length: {CL}
""")

case("valid/rfc4475-esc01.sip", """
INVITE sip:sips%3Auser%40example.com@example.net SIP/2.0
To: sip:%75se%72@example.com
From: <sip:I%20have%20spaces@example.net>;tag=938
Max-Forwards: 87
i: esc01.239409asdfakjkn23onasd0-3234
CSeq: 234234 INVITE
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bKkdjuw
C: application/sdp
Contact:
  <sip:cal%6Cer@host5.example.net;%6C%72;n%61me=v%61lue%25%34%31>
Content-Length: {CL}
""", SDP)

case("valid/rfc4475-escnull.sip", """
REGISTER sip:example.com SIP/2.0
To: sip:null-%00-null@example.com
From: sip:null-%00-null@example.com;tag=839923423
Max-Forwards: 70
Call-ID: escnull.39203ndfvkjdasfkq3w4otrq0adsfdfnavd
CSeq: 14398234 REGISTER
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Contact: <sip:%00@host5.example.com>
Contact: <sip:%00%00@host5.example.com>
L:0
""")

case("valid/rfc4475-esc02.sip", """
RE%47IST%45R sip:registrar.example.com SIP/2.0
To: "%Z%45" <sip:resource@example.com>
From: "%Z%45" <sip:resource@example.com>;tag=f232jadfj23
Call-ID: esc02.asdfnqwo34rq23i34jrjasdcnl23nrlknsdf
Via: SIP/2.0/TCP host.example.com;rport;branch=z9hG4bK209793
Max-Forwards: 70
CSeq: 29344 RE%47IST%45R
Contact: <sip:alias1@host1.example.com>
C%6Fntact: <sip:alias2@host2.example.com>
Contact: <sip:alias3@host3.example.com>
l: 0
""")

case("valid/rfc4475-lwsdisp.sip", """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: caller<sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID: lwsdisp.1234abcd@funky.example.com
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP funky.example.com;branch=z9hG4bKkdjuw
l: 0
""")

LONG = "very" * 120
case("valid/rfc4475-longreq.sip", "\n".join([
    "INVITE sip:user@example.com SIP/2.0",
    "Max-Forwards: 70",
    'To: "I have a user name of %s long name" <sip:user@example.com>;tag=%s' % (LONG, "1" * 200),
    "From: <sip:%s@example.net>;tag=12982982398123094231%s" % ("a" * 300, "9" * 200),
    "Call-ID: longreq.one%s@example.com" % ("really" * 100),
    "CSeq: 3882340 INVITE",
    "Unknown-%s-Header: %s" % ("long" * 60, "value" * 300),
] + ["Via: SIP/2.0/TCP sip%d.example.com:5060;branch=z9hG4bK%s;received=192.0.2.%d"
     % (i, "x" * 40 + str(i), i % 250 + 1) for i in range(34)] + [
    "Route: " + ", ".join("<sip:proxy%d.example.com;lr>" % i for i in range(60)),
    "Contact: <sip:amazinglylongcallername%s@host5.example.net>" % ("z" * 250),
    "Content-Type: application/sdp",
    "l: {CL}",
]), SDP)

# A REGISTER with Content-Length: 0 followed, in the same datagram, by an INVITE: the
# octets after the first message are discarded.
case("valid/rfc4475-dblreq.sip", """
REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=43251j3j324
Max-Forwards: 8
I: dblreq.0ha0isndaksdj99sdfafnl3lk233412
Contact: sip:j.user@host.example.com
CSeq: 8 REGISTER
Via: SIP/2.0/UDP 192.0.2.125;branch=z9hG4bKkdjuw23492
Content-Length: 0
""", trailer=("INVITE sip:joe@example.com SIP/2.0\r\n"
              "t: sip:joe@example.com\r\n"
              "From: sip:caller@example.net;tag=141334\r\n"
              "Max-Forwards: 8\r\n"
              "Call-ID: dblreq.0ha0isnda977644900765@192.0.2.15\r\n"
              "CSeq: 8 INVITE\r\n"
              "Via: SIP/2.0/UDP 192.0.2.15;branch=z9hG4bKkdjuw380234\r\n"
              "Content-Type: application/sdp\r\n"
              "Content-Length: 0\r\n\r\n").encode())

case("valid/rfc4475-semiuri.sip", """
OPTIONS sip:user;par=u%40example.net@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Call-ID: semiuri.0ha0isndaksdj
CSeq: 8 OPTIONS
Accept: application/sdp, application/pkcs7-mime,
        multipart/mixed, multipart/signed,
        message/sip, message/sipfrag
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKkdjuw
l: 0
""")

case("valid/rfc4475-transports.sip", """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: <sip:caller@example.com>;tag=323
Max-Forwards: 70
Call-ID:  transports.kijh4akdnaqjkwendsasfdj
Accept: application/sdp
CSeq: 60 OPTIONS
Via: SIP/2.0/UDP t1.example.com;branch=z9hG4bKkdjuw
Via: SIP/2.0/SCTP t2.example.com;branch=z9hG4bKklasjdhf
Via: SIP/2.0/TLS t3.example.com;branch=z9hG4bK2980unddj
Via: SIP/2.0/UNKNOWN t4.example.com;branch=z9hG4bKasd0f3en
Via: SIP/2.0/TCP t5.example.com;branch=z9hG4bK0a9idfnee
l: 0
""")

# A multipart/signed MESSAGE whose signature part is binary (not UTF-8).
MPART = (b"--boundary42\r\n"
         b"Content-Type: text/plain\r\n\r\n"
         b"Hello, signed world.\r\n"
         b"--boundary42\r\n"
         b"Content-Type: application/pkcs7-signature; name=smime.p7s\r\n"
         b"Content-Transfer-Encoding: binary\r\n"
         b"Content-Disposition: attachment; handling=required; filename=smime.p7s\r\n\r\n"
         + bytes([0x30, 0x82, 0x01, 0xff, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01,
                  0x07, 0x02, 0xa0, 0x82, 0x01, 0xf0, 0x00, 0x0d, 0x0a, 0x0d, 0x0a, 0xfe, 0xff])
         + b"\r\n--boundary42--\r\n")
case("valid/rfc4475-mpart01.sip", """
MESSAGE sip:kumiko@example.org SIP/2.0
Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-d87543-4dade06d0bdb11ee-1--d87543-;rport
Max-Forwards: 70
Route: <sip:127.0.0.1:5080>
Identity: r5mwreLuyDRYBi/0TiPwEsY3rEVsk/G2WxhgTV1PF7hHuPBrNMRV5G6XAkr0lVMJaRCKGsNTi0rkvQMOz1Tqh1W3b1SxBqbZgcDUObZFbHtvUi+bhbdXqFJlcHqPrUxkJ6qrQWwv5tIJMhbdx48SFm7GSeKBBqm3DoGJsl3UEAp5t3kEdiCYBPKwBXgVUz9B5p5gx5fvWhNdNf8Zqe+qp38UMX9M6bBe+UdmVdfVHgVpvbYxDKHRXLzn0QFANZ2ngfnW5VYRnbTwlKcZVIcvLVLWXWV/fXx3HWdSDa+ZNgOnHNmBIg8ITVk+CvjEOXo9G6TzoMm5wRZi+tlfe0EkKQ==
Identity-Info: <https://example.com/cert>;alg=rsa-sha1
To: <sip:kumiko@example.org>
From: <sip:fluffy@example.com>;tag=2fb0dcc9
Call-ID: 3d9485ad0c49859b@Zmx1ZmZ5LW1hYy0xNi5sb2NhbA..
CSeq: 1 MESSAGE
Content-Transfer-Encoding: binary
Content-Type: multipart/mixed;boundary=boundary42
Date: Sat, 16 Jan 2010 07:11:49 GMT
User-Agent: sipmsg-torture
Content-Length: {CL}
""", MPART)

case("valid/rfc4475-unreason.sip", """
SIP/2.0 200 = 2**3 * 5**2 но сто девяносто девять - простое
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Call-ID: unreason.1234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: {CL}
Content-Type: application/sdp
Contact: <sip:user@host198.example.com>
""", SDP)

case("valid/rfc4475-noreason.sip", """
SIP/2.0 100 \nVia: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: noreason.asndj203insdf99223ndf
CSeq: 35 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>
""")

# ------------------------------- RFC 4475 cases a parser accepts (semantic, not syntax)

case("valid/rfc4475-baddate.sip", """
INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=2234923
Max-Forwards: 70
Call-ID: baddate.239423mnsadf3j23lj42--sedfnm234
CSeq: 1392934 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
Date: Fri, 01 Jan 2010 16:00:00 EST
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: {CL}
""", SDP)

case("valid/rfc4475-badbranch.sip", """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.org;tag=33242
Max-Forwards: 3
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK
Accept: application/sdp
Call-ID: badbranch.sadonfo23i420jv0as0derf3j3n
CSeq: 8 OPTIONS
l: 0
""")

case("valid/rfc4475-unkscm.sip", """
OPTIONS nobodyKnowsThisScheme:totallyopaquecontent SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: unkscm.nasdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0
""")

case("valid/rfc4475-novelsc.sip", """
OPTIONS soap.beep://192.0.2.103:3002 SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=384
Max-Forwards: 3
Call-ID: novelsc.asdfasser0q239nwsdfasdkl34
CSeq: 3923423 OPTIONS
Via: SIP/2.0/TCP host9.example.com;branch=z9hG4bKkdjuw39234
Content-Length: 0
""")

case("valid/rfc4475-unksm2.sip", """
REGISTER sip:example.com SIP/2.0
To: isbn:2983792873
From: <http://www.example.com>;tag=3234233
Call-ID: unksm2.daksdj@hyphenated-host.example.com
CSeq: 234902 REGISTER
Max-Forwards: 70
Via: SIP/2.0/UDP 192.0.2.21:5060;branch=z9hG4bKkdjuw
Contact: <name:John_Smith>
l: 0
""")

case("valid/rfc4475-bext01.sip", """
OPTIONS sip:user@example.com SIP/2.0
To: sip:j_user@example.com
From: sip:caller@example.net;tag=242etr
Max-Forwards: 6
Call-ID: bext01.0ha0isndaksdj
Require: nothingSupportsThis, nothingSupportsThisEither
Proxy-Require: noProxiesSupportThis, norDoAnyProxiesSupportThis
CSeq: 8 OPTIONS
Via: SIP/2.0/TLS fold-and-staple.example.com;branch=z9hG4bKkdjuw
Content-Length: 0
""")

case("valid/rfc4475-invut.sip", """
INVITE sip:user@example.com SIP/2.0
Contact: <sip:caller@host5.example.net>
To: sip:j.user@example.com
From: sip:caller@example.net;tag=8392034
Max-Forwards: 70
Call-ID: invut.0ha0isndaksdjadsfij34n23d
CSeq: 235448 INVITE
Via: SIP/2.0/UDP somehost.example.com;branch=z9hG4bKkdjuw
Content-Type: application/unknownformat
Content-Length: {CL}
""", "<audio>\n <pcmu port=\"443\"/>\n</audio>\n")

case("valid/rfc4475-regaut01.sip", """
REGISTER sip:example.com SIP/2.0
To: sip:j.user@example.com
From: sip:j.user@example.com;tag=87321hj23128
Max-Forwards: 8
Call-ID: regaut01.0ha0isndaksdj
CSeq: 9338 REGISTER
Via: SIP/2.0/TCP 192.0.2.253;branch=z9hG4bKkdjuw
Authorization: NoOneKnowsThisScheme opaque-data=here
Content-Length:0
""")

case("valid/rfc4475-bcast.sip", """
SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923
Via: SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1saber23
Call-ID: bcast.0384840201234ksdfak3j2erwedfsASdf
CSeq: 35 INVITE
From: sip:user@example.com;tag=11141343
To: sip:user@example.edu;tag=2229
Content-Length: {CL}
Content-Type: application/sdp
Contact: <sip:user@host28.example.com>
""", SDP)

case("valid/rfc4475-zeromf.sip", """
OPTIONS sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=3ghsd41
Call-ID: zeromf.jfasdlfnm2o2l43r5u0asdfas
CSeq: 39234321 OPTIONS
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw2349i
Max-Forwards: 0
Content-Length: 0
""")

case("valid/rfc4475-cparam01.sip", """
REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=DkfVgjkrtMwaerKKpe
To: sip:watson@example.com
Call-ID: cparam01.70710@saturn.example.com
CSeq: 2 REGISTER
Contact: sip:+19725552222@gw1.example.net;unknownparam
l: 0
""")

case("valid/rfc4475-cparam02.sip", """
REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/UDP saturn.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards: 70
From: sip:watson@example.com;tag=838293
To: sip:watson@example.com
Call-ID: cparam02.70710@saturn.example.com
CSeq: 3 REGISTER
Contact: <sip:+19725552222@gw1.example.net;unknownparam>
l: 0
""")

case("valid/rfc4475-regescrt.sip", """
REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=8
Max-Forwards: 70
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Call-ID: regescrt.k345asrl3fdbv@192.0.2.1
CSeq: 14398234 REGISTER
M: <sip:user@example.com?Route=%3Csip:sip.example.com%3E>
L:0
""")

case("valid/rfc4475-sdp01.sip", """
INVITE sip:user@example.com SIP/2.0
To: sip:j_user@example.com
Contact: <sip:caller@host15.example.net>
From: sip:caller@example.net;tag=234
Max-Forwards: 5
Call-ID: sdp01.ndaksdj9342dasdd
Accept: text/nobodyKnowsThis
CSeq: 8 INVITE
Via: SIP/2.0/UDP 60.255.255.255;branch=z9hG4bKkdjuw
Content-Length: {CL}
Content-Type: application/sdp
""", SDP)

case("valid/rfc4475-inv2543.sip", """
INVITE sip:UserB@example.com SIP/2.0
Via: SIP/2.0/UDP iftgw.example.com
From: <sip:+13035551111@ift.client.example.net;user=phone>
Record-Route: <sip:UserB@example.com;maddr=ss1.example.com>
To: sip:+16505552222@ss1.example.net;user=phone
Call-ID: inv2543.1717@ift.client.example.com
CSeq: 56 INVITE
Content-Type: application/sdp
Content-Length: {CL}
""", SDP)

# --------------------------------------------------------- RFC 4475 §3.1.2: invalid

case("invalid/rfc4475-badinv01.sip", """
INVITE sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;;tag=134161461246
Max-Forwards: 7
Call-ID: badinv01.0ha0isndaksdjasdf3234nas
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.15;;,;,,
Contact: "Joe" <sip:joe@example.org>;;;;
Content-Length: {CL}
Content-Type: application/sdp
""", SDP)

case("invalid/rfc4475-clerr.sip", """
INVITE sip:user@example.com SIP/2.0
Max-Forwards: 80
To: sip:j.user@example.com
From: sip:caller@example.net;tag=93942939o2
Contact: <sip:caller@hungry.example.net>
Call-ID: clerr.0ha0isndaksdjweiafasdk3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bK-39234-23523
Content-Type: application/sdp
Content-Length: 9999
""", SDP)

case("invalid/rfc4475-ncl.sip", """
INVITE sip:user@example.com SIP/2.0
Max-Forwards: 254
To: sip:j.user@example.com
From: sip:caller@example.net;tag=32394234
Call-ID: ncl.0ha0isndaksdj2193423r542w35
CSeq: 0 INVITE
Via: SIP/2.0/UDP 192.0.2.53;branch=z9hG4bKkdjuw
Contact: <sip:caller@example53.example.net>
Content-Type: application/sdp
Content-Length: -999
""", SDP)

case("invalid/rfc4475-scalar02.sip", """
REGISTER sip:example.com SIP/2.0
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3
To: <sip:user@example.com>
From: <sip:user@example.com>;tag=239232jh3
CSeq: 36893488147419103232 REGISTER
Call-ID: scalar02.23o0pd9vanlq3wnrlnewofjas9ui32
Max-Forwards: 300
Expires: 1000000000000000000000000000000000000000000000000000000000000000000000000000000
Contact: <sip:user@host129.example.com>
  ;expires=280297596632815
Content-Length: 0
""")

case("invalid/rfc4475-scalarlg.sip", """
SIP/2.0 503 Service Unavailable
Via: SIP/2.0/TCP host129.example.com;branch=z9hG4bKzzxdiwo34sw;received=192.0.2.129
To: <sip:user@example.com>
From: <sip:other@example.net>;tag=2easdjfejw
CSeq: 9292394834772304023312 OPTIONS
Call-ID: scalarlg.noase0of0234hn2qofoaf0232aewf2394r
Retry-After: 949302838503028349304023988
Warning: 1812 overture "In Progress"
Content-Length: 0
""")

case("invalid/rfc4475-quotbal.sip", """
INVITE sip:user@example.com SIP/2.0
To: "Mr. J. User <sip:j.user@example.com>
From: sip:caller@example.net;tag=93334
Max-Forwards: 10
Call-ID: quotbal.aksdj
Contact: <sip:caller@host59.example.net>
CSeq: 8 INVITE
Via: SIP/2.0/UDP 192.0.2.59:5050;branch=z9hG4bKkdjuw39234
Content-Type: application/sdp
Content-Length: {CL}
""", SDP)

case("invalid/rfc4475-ltgtruri.sip", """
INVITE <sip:user@example.com> SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=39291
Max-Forwards: 23
Call-ID: ltgtruri.1@192.0.2.5
CSeq: 1 INVITE
Via: SIP/2.0/UDP 192.0.2.5
Contact: <sip:caller@host5.example.net>
Content-Type: application/sdp
Content-Length: {CL}
""", SDP)

case("invalid/rfc4475-lwsruri.sip", """
INVITE sip:user@example.com; lr SIP/2.0
To: sip:user@example.com;tag=3xfe-9921883-z9f
From: sip:caller@example.net;tag=231413434
Max-Forwards: 5
Call-ID: lwsruri.asdfasdoeoi2323-asdfwrn23-asd834rk423
CSeq: 2130706432 INVITE
Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKkdjuw2395
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: {CL}
""", SDP)

case("invalid/rfc4475-lwsstart.sip", """
INVITE  sip:user@example.com  SIP/2.0
Max-Forwards: 8
To: sip:user@example.com
From: sip:caller@example.net;tag=8814
Call-ID: lwsstart.dfknq234oi243099adsdfnawe3@example.com
CSeq: 1893884 INVITE
Via: SIP/2.0/UDP host1.example.com;branch=z9hG4bKkdjuw3923
Contact: <sip:caller@host1.example.net>
Content-Type: application/sdp
Content-Length: {CL}
""", SDP)

case("invalid/rfc4475-trws.sip", """
OPTIONS sip:remote-target@example.com SIP/2.0  \nVia: SIP/2.0/TCP host1.example.com;branch=z9hG4bK299342093
To: <sip:remote-target@example.com>
From: <sip:local-resource@example.com>;tag=329429089
Call-ID: trws.oicu34958239neffasdhr2345r
Accept: application/sdp
CSeq: 238923 OPTIONS
Max-Forwards: 70
Content-Length: 0
""")

case("invalid/rfc4475-escruri.sip", """
INVITE sip:user@example.com?Route=%3Csip:example.com%3E SIP/2.0
To: sip:user@example.com
From: sip:caller@example.net;tag=341518
Max-Forwards: 7
Contact: <sip:caller@host39923.example.net>
Call-ID: escruri.23940-asdfhj-aje3br-234q098w-fawerh2q-h4n5
CSeq: 149209342 INVITE
Via: SIP/2.0/UDP host-of-the-hour.example.com;branch=z9hG4bKkdjuw
Content-Type: application/sdp
Content-Length: {CL}
""", SDP)

# Only the Contact is wrong, and Contact is parsed when asked for, not eagerly.
case("invalid/rfc4475-regbadct.sip", """
REGISTER sip:example.com SIP/2.0
To: sip:user@example.com
From: sip:user@example.com;tag=998332
Max-Forwards: 70
Via: SIP/2.0/UDP host5.example.com;branch=z9hG4bKkdjuw
Call-ID: regbadct.k345asrl3fdbv@10.0.0.1
CSeq: 1 REGISTER
Contact: sip:user@example.com?Route=%3Csip:sip.example.com%3E
l: 0
""")

case("invalid/rfc4475-badaspec.sip", """
OPTIONS sip:user@example.org SIP/2.0
Via: SIP/2.0/UDP host4.example.com:5060;branch=z9hG4bKkdju43234
Max-Forwards: 70
From: "Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423
To: "Watson, Thomas" < sip:t.watson@example.org >
Call-ID: badaspec.sdf0234n2nds0a099u23h3hnnw009cdkne3
Accept: application/sdp
CSeq: 3923239 OPTIONS
l: 0
""")

case("invalid/rfc4475-baddn.sip", """
OPTIONS sip:t.watson@example.org SIP/2.0
Via:     SIP/2.0/UDP c.example.com:5060;branch=z9hG4bKkdjuw
Max-Forwards:      70
From:    Bell, Alexander <sip:a.g.bell@example.com>;tag=43
To:      Watson, Thomas <sip:t.watson@example.org>
Call-ID: baddn.31415@c.example.com
Accept: application/sdp
CSeq:    3923239 OPTIONS
l: 0
""")

case("invalid/rfc4475-badvers.sip", """
OPTIONS sip:t.watson@example.org SIP/7.0
Via:     SIP/7.0/UDP c.example.com;branch=z9hG4bKkdjuw
Max-Forwards:     70
From:    A. Bell <sip:a.g.bell@example.com>;tag=qweoiqpe
To:      T. Watson <sip:t.watson@example.org>
Call-ID: badvers.31417@c.example.com
CSeq:    1 OPTIONS
l: 0
""")

case("invalid/rfc4475-mismatch01.sip", """
OPTIONS sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch01.dj0234sxdfl3
CSeq: 8 INVITE
Via: SIP/2.0/UDP host.example.com;branch=z9hG4bKkdjuw
l: 0
""")

case("invalid/rfc4475-mismatch02.sip", """
NEWMETHOD sip:user@example.com SIP/2.0
To: sip:j.user@example.com
From: sip:caller@example.net;tag=34525
Max-Forwards: 6
Call-ID: mismatch02.dj0234sxdfl3
CSeq: 8 INVITE
Contact: <sip:caller@host.example.net>
Via: SIP/2.0/UDP host.example.net;branch=z9hG4bKkdjuw
Content-Type: application/sdp
l: {CL}
""", SDP)

case("invalid/rfc4475-bigcode.sip", """
SIP/2.0 4294967301 better not break the receiver
Via: SIP/2.0/UDP 192.0.2.105;branch=z9hG4bK2398ndaoe
Call-ID: bigcode.asdof3uj203asdnf3429uasdhfas3ehjasdfas9i
CSeq: 353494 INVITE
From: <sip:user@example.com>;tag=39ansfi3
To: <sip:user@example.edu>;tag=902jndnke3
Content-Length: 0
Contact: <sip:user@host105.example.com>
""")

case("invalid/rfc4475-insuf.sip", """
INVITE sip:user@example.com SIP/2.0
CSeq: 193942 INVITE
Via: SIP/2.0/UDP 192.0.2.95;branch=z9hG4bKkdj.insuf
Content-Type: application/sdp
l: {CL}
""", SDP)

case("invalid/rfc4475-multi01.sip", """
INVITE sip:user@company.com SIP/2.0
Contact: <sip:caller@host25.example.net>
Via: SIP/2.0/UDP 192.0.2.25;branch=z9hG4bKkdjuw
Max-Forwards: 70
CSeq: 5 INVITE
Call-ID: multi01.98asdh@192.0.2.1
CSeq: 59 INVITE
Call-ID: multi01.98asdh@192.0.2.2
From: sip:caller@example.com;tag=3413415
To: sip:user@example.com
To: sip:other@example.net
From: sip:caller@example.net;tag=2923420123
Content-Type: application/sdp
l: {CL}
Contact: <sip:caller@host36.example.net>
Max-Forwards: 5
""", SDP)

case("invalid/rfc4475-mcl01.sip", """
OPTIONS sip:user@example.com SIP/2.0
Via: SIP/2.0/UDP host5.example.net;branch=z9hG4bK293423
To: sip:user@example.com
From: sip:other@example.net;tag=3923942
Call-ID: mcl01.fhn2323orihawfdoa3o4r52o3irsdf
CSeq: 15932 OPTIONS
Content-Length: 13
Max-Forwards: 60
Content-Length: 5
Content-Type: text/plain
""", "There's no way to know how many octets are supposed to be here.\n")

# ------------------------------------------------------------------- RFC 5118: IPv6

V6_OPTS = """
Via: SIP/2.0/UDP [2001:db8::9:1]:5060;branch=z9hG4bKas3-111
Max-Forwards: 70
From: <sip:user@[2001:db8::9:1]>;tag=268bc
To: <sip:user@[2001:db8::10]>
Call-ID: {cid}@[2001:db8::9:1]
CSeq: 1 {method}
Contact: "Caller" <sip:caller@[2001:db8::9:1]>
Content-Length: 0
"""


def v6(name, ruri, method="REGISTER"):
    case(name, ("%s %s SIP/2.0" % (method, ruri)) + V6_OPTS.format(cid=name.split("/")[1][:-4], method=method))


v6("valid/rfc5118-ipv6-good.sip", "sip:[2001:db8::10]")
v6("valid/rfc5118-port-ambiguous.sip", "sip:[2001:db8::10:5070]")
v6("valid/rfc5118-port-unambiguous.sip", "sip:[2001:db8::10]:5070")
v6("valid/rfc5118-ipv6-correct-abnf-2-colons.sip", "sip:user@[2001:db8::192.0.2.1]", "OPTIONS")
v6("valid/rfc5118-ipv6-bug-abnf-3-colons.sip", "sip:user@[2001:db8:::192.0.2.1]", "OPTIONS")
v6("invalid/rfc5118-ipv6-bad.sip", "sip:2001:db8::10")

case("valid/rfc5118-via-received-param-with-delim.sip", """
BYE sip:[2001:db8::10] SIP/2.0
To: <sip:user@example.com>;tag=bd76ya
From: sip:user@example.net;tag=81x2
Via: SIP/2.0/UDP [2001:db8::9:1];received=[2001:db8::9:255];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Max-Forwards: 70
CSeq: 321 BYE
Content-Length: 0
""")

case("valid/rfc5118-via-received-param-no-delim.sip", """
OPTIONS sip:[2001:db8::10] SIP/2.0
To: <sip:user@example.com>
From: sip:user@example.net;tag=ybd6ya
Via: SIP/2.0/UDP [2001:db8::9:1];received=2001:db8::9:255;branch=z9hG4bKas3
Call-ID: SSG95523997077@hlau_4100
Max-Forwards: 70
Contact: "Caller" <sip:caller@[2001:db8::9:1]>
CSeq: 921 OPTIONS
Content-Length: 0
""")

SDP6 = """v=0
o=assistant 971731711378798081 0 IN IP6 2001:db8::20
s=Live video feed
c=IN IP6 2001:db8::20
t=0 0
m=video 6000 RTP/AVP 34
a=rtpmap:34 H263/90000
"""
case("valid/rfc5118-ipv6-in-sdp.sip", """
INVITE sip:user@[2001:db8::10] SIP/2.0
To: sip:user@[2001:db8::10]
From: sip:user@example.com;tag=81x2
Via: SIP/2.0/UDP [2001:db8::20];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Contact: "Caller" <sip:caller@[2001:db8::20]>
CSeq: 8612 INVITE
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: {CL}
""", SDP6)

case("valid/rfc5118-mult-ip-in-header.sip", """
BYE sip:user@host.example.net SIP/2.0
Via: SIP/2.0/UDP [2001:db8::9:1]:6050;branch=z9hG4bKas3-111
Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKjhja8781hjuaij65144
Via: SIP/2.0/TCP [2001:db8::9:255];branch=z9hG4bK451jj;received=192.0.2.200
Call-ID: 997077@lau_4100
Max-Forwards: 70
CSeq: 89187 BYE
To: sip:user@example.net;tag=9817--94
From: sip:user@example.com;tag=81x2
Content-Length: 0
""")

case("valid/rfc5118-mult-ip-in-sdp.sip", """
INVITE sip:user@[2001:db8::10] SIP/2.0
To: sip:user@[2001:db8::10]
From: sip:user@example.com;tag=81x2
Via: SIP/2.0/UDP [2001:db8::9:1];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Contact: "Caller" <sip:caller@[2001:db8::9:1]>
Max-Forwards: 70
CSeq: 8912 INVITE
Content-Type: application/sdp
Content-Length: {CL}
""", """v=0
o=bob 280744730 28977631 IN IP4 host.example.com
s=
t=0 0
m=audio 22334 RTP/AVP 0
c=IN IP4 192.0.2.1
m=video 6024 RTP/AVP 107
c=IN IP6 2001:db8::1
a=rtpmap:107 H263-1998/90000
""")

case("valid/rfc5118-ipv4-mapped-ipv6.sip", """
INVITE sip:user@example.com SIP/2.0
To: sip:user@example.com
From: sip:user@east.example.com;tag=81x2
Via: SIP/2.0/UDP [::ffff:192.0.2.10]:19823;branch=z9hG4bKbh19
Via: SIP/2.0/UDP [::ffff:192.0.2.128];branch=z9hG4bKas3-111
Call-ID: SSG9559905523997077@hlau_4100
Contact: "T. desk phone" <sip:ted@[::ffff:192.0.2.128]>
CSeq: 612 INVITE
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: {CL}
""", """v=0
o=assistant 971731711378798081 0 IN IP6 ::ffff:192.0.2.128
s=Call me soon, please!
c=IN IP6 ::ffff:192.0.2.128
t=0 0
m=audio 6000 RTP/AVP 0
a=rtpmap:0 PCMU/8000
""")

# ---------------------------------------------- what common servers and phones send

case("valid/kamailio-401-register-sha256-md5.sip", """
SIP/2.0 401 Unauthorized
Via: SIP/2.0/UDP 192.168.1.20:5060;rport=50812;received=203.0.113.7;branch=z9hG4bK.a6Nq3kKx1
From: <sip:1001@sip.example.com>;tag=dnR3xzp2K
To: <sip:1001@sip.example.com>;tag=b27e1a1d33761e85846fc98f5f3a7e58.1c6e
Call-ID: 7bXo1v-3HbGd2S2WQ1b9gQ..
CSeq: 20 REGISTER
WWW-Authenticate: Digest realm="sip.example.com", nonce="ZVxGk2VcRWcxb3J0ZWQtbm9uY2UtdmFsdWU=", qop="auth", algorithm=SHA-256, opaque="5ccc069c403ebaf9f0171e9517f40e41"
WWW-Authenticate: Digest realm="sip.example.com", nonce="ZVxGk2VcRWcxb3J0ZWQtbm9uY2UtdmFsdWU=", qop="auth", algorithm=MD5, opaque="5ccc069c403ebaf9f0171e9517f40e41"
Server: kamailio (5.7.4 (x86_64/linux))
Content-Length: 0
""")

case("valid/asterisk-407-invite.sip", """
SIP/2.0 407 Proxy Authentication Required
Via: SIP/2.0/UDP 10.0.0.15:5060;rport=5060;received=10.0.0.15;branch=z9hG4bKPj6f1b9c5a-3c55-4d1e-9f1e-2f7d7a9a1b11
Call-ID: 0f3f0e7c-21e5-4cf6-a3e8-6e8e0a8c3b9d
From: "Agent 1001" <sip:1001@pbx.example.com>;tag=a1e9f1a3-7f4b-4d0b-bc3c-1c0de7d3c1f2
To: <sip:+15551234567@pbx.example.com>;tag=z9hG4bKPj6f1b9c5a-3c55-4d1e-9f1e-2f7d7a9a1b11
CSeq: 28461 INVITE
Proxy-Authenticate: Digest realm="asterisk",nonce="1700000000/0123456789abcdef0123456789abcdef",opaque="3f2c1b0a99887766",algorithm=md5,qop="auth"
Server: Asterisk PBX 20.5.0
Content-Length:  0
""")

SDP_CALL = """v=0
o=- 3912345678 3912345678 IN IP4 192.168.1.20
s=softphone
c=IN IP4 192.168.1.20
t=0 0
m=audio 40000 RTP/AVP 111 0 8 101
a=rtpmap:111 opus/48000/2
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:20
a=sendrecv
"""
case("valid/kamailio-invite-sdp-record-route.sip", """
INVITE sip:2001@192.168.1.30:5060;transport=udp SIP/2.0
Record-Route: <sip:203.0.113.10;r2=on;lr;ftag=8sK2Jx1>
Record-Route: <sip:10.0.0.10;r2=on;lr;ftag=8sK2Jx1>
Via: SIP/2.0/UDP 10.0.0.10;branch=z9hG4bK0b2f.9a1c3e2e4c1e1e7b2f9d9c1b6a9d2a1f.0
Via: SIP/2.0/UDP 192.168.1.20:5060;received=198.51.100.4;rport=5060;branch=z9hG4bKPjf3a1e2d4
Max-Forwards: 69
From: "Alice" <sip:1001@sip.example.com>;tag=8sK2Jx1
To: <sip:2001@sip.example.com>
Contact: <sip:1001@198.51.100.4:5060;ob>
Call-ID: 5f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a098
CSeq: 4711 INVITE
Allow: INVITE, ACK, CANCEL, BYE, UPDATE, PRACK, OPTIONS, REFER, NOTIFY, MESSAGE, INFO
Supported: replaces, 100rel, timer, norefersub
Session-Expires: 1800;refresher=uac
Min-SE: 90
P-Asserted-Identity: "Alice" <sip:1001@sip.example.com>, <tel:+15550001001>
User-Agent: softphone/0.1
Content-Type: application/sdp
Content-Length: {CL}
""", SDP_CALL)

case("valid/freeswitch-200-register-contacts.sip", """
SIP/2.0 200 OK
Via: SIP/2.0/UDP 192.168.1.20:5060;rport=5060;branch=z9hG4bKPjd9f8e7c6;received=198.51.100.4
From: <sip:1001@fs.example.com>;tag=hU7sdDpQ
To: <sip:1001@fs.example.com>;tag=3Q8FB2gKX0Q9F
Call-ID: 41c05d1a5e4e4b1c9d7e
CSeq: 2 REGISTER
Contact: <sip:1001@198.51.100.4:5060;ob>;expires=3600
Contact: <sip:1001@192.0.2.77:5062;transport=tcp>;expires=1790;q=0.5, <sip:1001@[2001:db8::77]:5060>;expires=600;+sip.instance="<urn:uuid:00000000-0000-1000-8000-000A95A0E128>"
Date: Sun, 22 Nov 2026 05:00:00 GMT
User-Agent: FreeSWITCH-mod_sofia/1.10.11-release~64bit
Allow: INVITE, ACK, BYE, CANCEL, OPTIONS, MESSAGE, INFO, UPDATE, REGISTER, REFER, NOTIFY, PUBLISH, SUBSCRIBE
Supported: timer, path, replaces
Content-Length: 0
""")

case("valid/asterisk-options-qualify.sip", """
OPTIONS sip:1001@198.51.100.4:5060;ob SIP/2.0
Via: SIP/2.0/UDP 203.0.113.10:5060;rport;branch=z9hG4bKPj8d0c5e2a-1b3c-4d5e-8f90-a1b2c3d4e5f6
From: <sip:1001@203.0.113.10>;tag=0c9a8b7e-6d5f-4e3d-2c1b-0a9f8e7d6c5b
To: <sip:1001@198.51.100.4;ob>
Contact: <sip:1001@203.0.113.10:5060>
Call-ID: 6a5b4c3d-2e1f-4a9b-8c7d-6e5f4a3b2c1d
CSeq: 53219 OPTIONS
Max-Forwards: 70
User-Agent: Asterisk PBX 20.5.0
Content-Length:  0
""")

case("valid/notify-sipfrag.sip", """
NOTIFY sip:1001@198.51.100.4:5060;ob SIP/2.0
Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bK776sgdkse
Max-Forwards: 70
From: <sip:2001@sip.example.com>;tag=a6c85cf
To: "Alice" <sip:1001@sip.example.com>;tag=8sK2Jx1
Call-ID: 5f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a098
CSeq: 73 NOTIFY
Contact: <sip:2001@192.168.1.30:5060>
Event: refer;id=93809824
Subscription-State: terminated;reason=noresource
Content-Type: message/sipfrag;version=2.0
Content-Length: {CL}
""", "SIP/2.0 200 OK\n")

case("valid/refer-replaces.sip", """
REFER sip:2001@192.168.1.30:5060 SIP/2.0
Via: SIP/2.0/UDP 192.168.1.20:5060;rport;branch=z9hG4bKPj1c2d3e4f
Max-Forwards: 70
From: "Alice" <sip:1001@sip.example.com>;tag=8sK2Jx1
To: <sip:2001@sip.example.com>;tag=a6c85cf
Call-ID: 5f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a098
CSeq: 4712 REFER
Contact: <sip:1001@198.51.100.4:5060;ob>
Refer-To: <sip:3001@sip.example.com?Replaces=12345%40192.168.118.3%3Bto-tag%3D12345%3Bfrom-tag%3D5FFE-3994>
Referred-By: <sip:1001@sip.example.com>
Supported: replaces, norefersub
Content-Length: 0
""")

case("valid/compact-form-invite.sip", """
INVITE sip:bob@biloxi.example.com SIP/2.0
v: SIP/2.0/TCP client.atlanta.example.com:5060;branch=z9hG4bK74bf9
f: Alice <sip:alice@atlanta.example.com>;tag=9fxced76sl
t: Bob <sip:bob@biloxi.example.com>
i: 3848276298220188511@atlanta.example.com
m: <sip:alice@client.atlanta.example.com;transport=tcp>
CSeq: 2 INVITE
Max-Forwards: 70
k: 100rel, timer
s: lunch?
x: 600;refresher=uas
o: presence
u: presence, refer
r: <sip:carol@chicago.example.com>
b: <sip:alice@atlanta.example.com>
e: gzip
c: application/sdp
l: {CL}
""", SDP_CALL)

case("valid/cisco-cucm-invite.sip", """
INVITE sip:5551000@10.1.1.20:5060 SIP/2.0
Via: SIP/2.0/TCP 10.1.1.10:5060;branch=z9hG4bK1a2b3c4d5e6f
From: "Front Desk" <sip:4000@10.1.1.10>;tag=1234567~abcd1234-5678-90ab-cdef-1234567890ab-12345678
To: <sip:5551000@10.1.1.20>
Date: Sun, 22 Nov 2026 05:00:00 GMT
Call-ID: 9c2f8a00-1e71a2b3-4c5d6e-a01010a@10.1.1.10
Supported: timer,resource-priority,replaces
Min-SE:  1800
User-Agent: Cisco-CUCM14.0
Allow: INVITE, OPTIONS, INFO, BYE, CANCEL, ACK, PRACK, UPDATE, REFER, SUBSCRIBE, NOTIFY
CSeq: 101 INVITE
Expires: 180
Allow-Events: presence, kpml
Supported: X-cisco-srtp-fallback,X-cisco-original-called
Cisco-Guid: 2620360192-0000065536-0000000001-0167838986
Session-Expires:  1800
P-Asserted-Identity: "Front Desk" <sip:4000@10.1.1.10>
Remote-Party-ID: "Front Desk" <sip:4000@10.1.1.10>;party=calling;screen=yes;privacy=off
Contact: <sip:4000@10.1.1.10:5060;transport=tcp>;+u.sip!devicename.ccm.cisco.com="SEP001122334455"
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: {CL}
""", """v=0
o=CiscoSystemsCCM-SIP 2000 1 IN IP4 10.1.1.10
s=SIP Call
c=IN IP4 10.1.1.50
b=TIAS:64000
b=AS:64
t=0 0
m=audio 24580 RTP/AVP 0 101
a=rtpmap:0 PCMU/8000
a=ptime:20
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
""")

case("valid/register-authorization-sha256.sip", """
REGISTER sip:sip.example.com SIP/2.0
Via: SIP/2.0/UDP 192.168.1.20:5060;rport;branch=z9hG4bK.Rn0v2mXy
From: <sip:1001@sip.example.com>;tag=dnR3xzp2K
To: <sip:1001@sip.example.com>
CSeq: 21 REGISTER
Call-ID: 7bXo1v-3HbGd2S2WQ1b9gQ..
Max-Forwards: 70
Supported: replaces, outbound, gruu
Contact: <sip:1001@192.168.1.20:5060;transport=udp>;+sip.instance="<urn:uuid:2b2a8e56-1f1a-4b4c-8f2e-0d9c8b7a6f5e>";reg-id=1;expires=3600
Authorization: Digest realm="sip.example.com", nonce="ZVxGk2VcRWcxb3J0ZWQtbm9uY2UtdmFsdWU=", algorithm=SHA-256, opaque="5ccc069c403ebaf9f0171e9517f40e41", username="1001", uri="sip:sip.example.com", response="5f0c4e0b7b0f4d0e8b8f9e2c1d3a4b5c6d7e8f901234567890abcdef01234567", cnonce="0a4f113b", nc=00000001, qop=auth
Expires: 3600
User-Agent: softphone/0.1
Content-Length: 0
""")

case("valid/tel-uri-invite.sip", """
INVITE tel:+1-555-123-4567;phone-context=example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.4:5060;branch=z9hG4bKnashds8
Max-Forwards: 70
From: <tel:+1-555-000-1001>;tag=1928301774
To: <tel:+1-555-123-4567;ext=12>
Call-ID: a84b4c76e66710@pc33.example.com
CSeq: 314159 INVITE
Contact: <sip:+15550001001@192.0.2.4:5060;user=phone>
Content-Length: 0
""")

case("valid/asterisk-183-rseq.sip", """
SIP/2.0 183 Session Progress
Via: SIP/2.0/UDP 192.168.1.20:5060;rport=5060;received=198.51.100.4;branch=z9hG4bKPjf3a1e2d4
Record-Route: <sip:203.0.113.10;lr>
From: "Alice" <sip:1001@sip.example.com>;tag=8sK2Jx1
To: <sip:2001@sip.example.com>;tag=as6f2e1c3d
Call-ID: 5f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a098
CSeq: 4711 INVITE
Require: 100rel
RSeq: 988789
Contact: <sip:2001@192.168.1.30:5060>
Content-Type: application/sdp
Content-Length: {CL}
""", SDP_CALL)

case("valid/prack-rack.sip", """
PRACK sip:2001@192.168.1.30:5060 SIP/2.0
Via: SIP/2.0/UDP 192.168.1.20:5060;rport;branch=z9hG4bKPj7e6d5c4b
Route: <sip:203.0.113.10;lr>
Max-Forwards: 70
From: "Alice" <sip:1001@sip.example.com>;tag=8sK2Jx1
To: <sip:2001@sip.example.com>;tag=as6f2e1c3d
Call-ID: 5f3c2b1a-9e8d-4c7b-a6f5-e4d3c2b1a098
CSeq: 4712 PRACK
RAck: 988789 4711 INVITE
Content-Length: 0
""")

case("valid/subscribe-presence.sip", """
SUBSCRIBE sip:2001@sip.example.com SIP/2.0
Via: SIP/2.0/TLS 192.168.1.20:5061;rport;branch=z9hG4bKPj0a9b8c7d
Max-Forwards: 70
From: <sip:1001@sip.example.com>;tag=3e4f5a6b
To: <sip:2001@sip.example.com>
Call-ID: 1f2e3d4c5b6a
CSeq: 1 SUBSCRIBE
Contact: <sips:1001@192.168.1.20:5061;transport=tls>
Event: presence
Accept: application/pidf+xml
Expires: 600
Unsupported: foo
Content-Length: 0
""")

case("valid/bare-lf-options.sip", """
OPTIONS sip:pbx.example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKlf1
From: <sip:probe@192.0.2.7>;tag=lf
To: <sip:pbx.example.com>
Call-ID: bare-lf@192.0.2.7
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0
""", line_end="\n")

case("valid/keepalive-prefixed-options.sip", """
OPTIONS sip:pbx.example.com SIP/2.0
Via: SIP/2.0/TCP 192.0.2.7:5060;branch=z9hG4bKka1
From: <sip:probe@192.0.2.7>;tag=ka
To: <sip:pbx.example.com>
Call-ID: keepalive@192.0.2.7
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0
""")
CASES["valid/keepalive-prefixed-options.sip"] = b"\r\n\r\n" + CASES["valid/keepalive-prefixed-options.sip"]

case("invalid/missing-content-length-terminator.sip", """
OPTIONS sip:pbx.example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKeh1
From: <sip:probe@192.0.2.7>;tag=x
To: <sip:pbx.example.com>
Call-ID: no-empty-line@192.0.2.7
CSeq: 1 OPTIONS
Content-Length: 0""")
# A header section that never ends: drop the final empty line.
CASES["invalid/missing-content-length-terminator.sip"] = CASES["invalid/missing-content-length-terminator.sip"][:-2]

case("invalid/not-utf8-header.sip", """
OPTIONS sip:pbx.example.com SIP/2.0
Via: SIP/2.0/UDP 192.0.2.7:5060;branch=z9hG4bKnu1
From: <sip:probe@192.0.2.7>;tag=x
To: <sip:pbx.example.com>
Call-ID: latin1@192.0.2.7
CSeq: 1 OPTIONS
Subject: caf\udce9
Content-Length: 0
""")

case("invalid/cseq-not-below-2-31.sip", """
BYE sip:2001@192.168.1.30:5060 SIP/2.0
Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bKbig
From: <sip:1001@sip.example.com>;tag=1
To: <sip:2001@sip.example.com>;tag=2
Call-ID: big-cseq@192.168.1.20
CSeq: 2147483648 BYE
Content-Length: 0
""")


def main():
    for path, data in sorted(CASES.items()):
        full = os.path.join(HERE, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "wb") as f:
            f.write(data)
    print("wrote %d files" % len(CASES))


if __name__ == "__main__":
    main()
