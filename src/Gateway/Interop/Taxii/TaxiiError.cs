namespace CyberCoop.Gateway.Interop.Taxii;

/// <summary>A request the server refuses with a TAXII 2.1 error message (section 3.6.1).</summary>
internal sealed class TaxiiError : Exception
{
    public TaxiiError(int status, string title, string description)
        : base(title)
    {
        Status = status;
        Title = title;
        Description = description;
    }

    public TaxiiError()
    {
        Title = Description = string.Empty;
    }

    public TaxiiError(string message)
        : base(message)
    {
        Title = Description = message;
    }

    public TaxiiError(string message, Exception innerException)
        : base(message, innerException)
    {
        Title = Description = message;
    }

    public int Status { get; } = 400;

    public string Title { get; }

    public string Description { get; }
}
