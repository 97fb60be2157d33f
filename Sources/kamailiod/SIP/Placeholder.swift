// placeholder until the SIP core lands
public enum SIPCorePlaceholder {}
