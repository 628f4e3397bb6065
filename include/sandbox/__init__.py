"""Local stand-ins for Microsoft Entra ID, Dataverse (Dynamics 365 Sales) and Business Central.

They speak the real services' protocols over HTTPS so bcsync, and any other client, can be tried and
tested without a tenant. See docs/sandbox.md.
"""
