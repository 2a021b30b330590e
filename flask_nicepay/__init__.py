"""Take payments through PortOne V1 on the NICE Payments channel from a Flask store."""
