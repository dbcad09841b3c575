//! SDP, RTP/RTCP, codecs, jitter buffer and audio devices (built in the media issue).
