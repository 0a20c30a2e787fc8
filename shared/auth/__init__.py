"""Who is calling and what they may do: Google ID-token verification and the per-operation allow-lists."""
