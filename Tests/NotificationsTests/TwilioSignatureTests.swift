import Testing

@testable import Notifications

/// Vectors from twilio-python's tests (`tests/unit/test_request_validator.py`), the same example Twilio's
/// webhook-security documentation uses; each was recomputed with an independent Python implementation and
/// with twilio-python 9.13's `RequestValidator` before being copied here.
struct TwilioSignatureTests {
    let token = "12345"
    let url = "https://mycompany.com/myapp.php?foo=1&bar=2"
    let parameters = [
        ("CallSid", "CA1234567890ABCDE"),
        ("Caller", "+14158675309"),
        ("Digits", "1234"),
        ("From", "+14158675309"),
        ("To", "+18005551212"),
    ]

    @Test func computesTheDocumentedSignature() {
        #expect(TwilioSignature.compute(url: url, parameters: parameters, authToken: token) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
        #expect(TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: parameters, authToken: token))
    }

    @Test func orderOfTheFormFieldsDoesNotMatter() {
        #expect(TwilioSignature.compute(url: url, parameters: Array(parameters.reversed()), authToken: token) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    }

    @Test func repeatedNamesAreSortedByValue() {
        let repeated = [("Sid", "CA123"), ("SidAccount", "AC123"), ("Digits", "5678"), ("Digits", "1234")]
        #expect(TwilioSignature.compute(url: url, parameters: repeated, authToken: token) == "IK+Dwps556ElfBT0I3Rgjkr1wJU=")
        #expect(TwilioSignature.signedText(url: "", parameters: repeated) == "Digits1234Digits5678SidCA123SidAccountAC123")
    }

    @Test func aRepeatedIdenticalPairCountsOnce() {
        let doubled = parameters + [("Digits", "1234")]
        #expect(TwilioSignature.compute(url: url, parameters: doubled, authToken: token) == "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
    }

    @Test func thePortIsPartOfTheSignedURL() {
        let withPort = "https://mycompany.com:443/myapp.php?foo=1&bar=2"
        #expect(TwilioSignature.compute(url: withPort, parameters: parameters, authToken: token) == "kvajT1Ptam85bY51eRf/AJRuM3w=")
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: withPort, parameters: parameters, authToken: token))
    }

    @Test func aChangedParameterFails() {
        let changed: [(String, String)] = parameters.map { ($0.0, $0.0 == "Digits" ? "4321" : $0.1) }
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: changed, authToken: token))
        let added = parameters + [("ErrorCode", "30003")]
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: added, authToken: token))
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: Array(parameters.dropLast()), authToken: token))
    }

    @Test func aChangedURLFails() {
        let changed = "https://mycompany.com/myapp.php?foo=2&bar=2"
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: changed, parameters: parameters, authToken: token))
    }

    @Test func aWrongTokenFails() {
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8=", url: url, parameters: parameters, authToken: "54321"))
    }

    @Test func aMalformedSignatureFails() {
        #expect(!TwilioSignature.isValid("", url: url, parameters: parameters, authToken: token))
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8", url: url, parameters: parameters, authToken: token))
        #expect(!TwilioSignature.isValid("RSOYDt4T1cUTdK1PDd93/VVr8B8==", url: url, parameters: parameters, authToken: token))
        #expect(!TwilioSignature.isValid("rsoydt4t1cutdk1pdd93/vvr8b8=", url: url, parameters: parameters, authToken: token))
    }
}
